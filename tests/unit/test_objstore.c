/*
 * test_objstore.c — unit tests for the object store (objstore/objstore.h)
 * on real POSIX shm and a real spill directory: create/seal/get, zero-copy
 * client mappings, pins, LRU spilling and restore through the helper thread
 * (completions driven by poll() on the notify fd), NOMEM, deletes, stats.
 * Every test uses its own shm name and directory; the suite's teardown (in
 * the runner process) removes whatever a failed test left behind.
 */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore/objstore.h"

#define KB 1024u

static pid_t runner_pid;
static int serial;
static char shm_name[64], top_dir[128], spill_dir[160];
static int ready_calls, space_calls;
static uint8_t last_ready[IDS_SIZE];

static void on_ready(void *arg, const uint8_t *id)
{
    ready_calls++;
    memcpy(last_ready, id, IDS_SIZE);
}

static void on_space(void *arg)
{
    space_calls++;
}

static void suite_setup(void)
{
    runner_pid = getpid();
}

static void suite_teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/rayd-ut-objstore-%d-* /dev/shm/rayd-ut-objstore-%d-*",
             (int)runner_pid, (int)runner_pid);
    if (system(cmd) != 0) { /* best effort */ }
}

static objstore *store_open(uint64_t capacity)
{
    serial++;
    snprintf(shm_name, sizeof shm_name, "/rayd-ut-objstore-%d-%d-%d", (int)runner_pid, (int)getpid(), serial);
    snprintf(top_dir, sizeof top_dir, "/tmp/rayd-ut-objstore-%d-%d-%d", (int)runner_pid, (int)getpid(), serial);
    snprintf(spill_dir, sizeof spill_dir, "%s/spill", top_dir); /* two levels: created by the store */
    char err[256] = "";
    objstore *s = objstore_new(shm_name, capacity, spill_dir, err, sizeof err);
    ck_assert_msg(s != NULL, "objstore_new: %s", err);
    ready_calls = space_calls = 0;
    objstore_set_ready_cb(s, on_ready, NULL);
    objstore_set_space_cb(s, on_space, NULL);
    return s;
}

static void store_close(objstore *s)
{
    objstore_free(s);
    struct stat st;
    ck_assert_int_ne(stat(spill_dir, &st), 0); /* files and directory removed */
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", shm_name);
    ck_assert_int_ne(stat(path, &st), 0); /* shm name unlinked */
    rmdir(top_dir);
}

static void make_id(uint8_t *id, uint32_t job, uint32_t n)
{
    memset(id, 0, IDS_SIZE);
    id[0] = (uint8_t)(job >> 24);
    id[1] = (uint8_t)(job >> 16);
    id[2] = (uint8_t)(job >> 8);
    id[3] = (uint8_t)job;
    memcpy(id + 8, &n, sizeof n);
}

static bool spill_file_exists(const uint8_t *id)
{
    char hex[IDS_HEX_SIZE], path[256];
    snprintf(path, sizeof path, "%s/%s", spill_dir, ids_hex(id, IDS_SIZE, hex));
    return access(path, F_OK) == 0;
}

/* Wait (bounded) for the helper thread, then apply its completions. */
static void pump_once(objstore *s)
{
    struct pollfd p = { .fd = objstore_notify_fd(s), .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    objstore_process_completions(s);
}

/* Pump until SPACE_CALLS reaches N. */
static void pump_space(objstore *s, int n)
{
    for (int i = 0; i < 50 && space_calls < n; i++)
        pump_once(s);
    ck_assert_int_ge(space_calls, n);
}

/* get ID for CLIENT, waiting for restores; returns the final rc. */
static int get_wait(objstore *s, const uint8_t *id, int client, struct objstore_info *info)
{
    for (int i = 0; i < 50; i++) {
        int rc = objstore_get(s, id, client, info);
        if (rc != OBJSTORE_SPILLED_RESTORING)
            return rc;
        pump_once(s);
    }
    return -1;
}

static void fill(uint8_t *p, uint64_t n, uint32_t seed)
{
    for (uint64_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31 + i * 7);
}

static bool check(const uint8_t *p, uint64_t n, uint32_t seed)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 31 + i * 7))
            return false;
    return true;
}

START_TEST(test_objstore_create_seal_get)
{
    objstore *s = store_open(64 * KB);
    uint8_t *base = objstore_base(s);
    uint8_t id[IDS_SIZE], id0[IDS_SIZE];
    make_id(id, 1, 1);
    make_id(id0, 1, 2);
    uint64_t off;
    struct objstore_info info;
    ck_assert_int_eq(objstore_create(s, id, 7, 1000, &off), OBJSTORE_OK);
    ck_assert_uint_eq(off % 64, 0);
    ck_assert_int_eq(objstore_create(s, id, 7, 10, &off), OBJSTORE_EXISTS);
    ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_NOT_SEALED);
    ck_assert(!objstore_contains(s, id));
    fill(base + off, 1000, 1);
    ck_assert_int_eq(ready_calls, 0);
    ck_assert_int_eq(objstore_seal(s, id), OBJSTORE_OK);
    ck_assert_int_eq(ready_calls, 1);
    ck_assert_mem_eq(last_ready, id, IDS_SIZE);
    ck_assert_int_eq(objstore_seal(s, id), OBJSTORE_ALREADY_SEALED);
    ck_assert(objstore_contains(s, id));
    ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.offset, off);
    ck_assert_uint_eq(info.size, 1000);
    ck_assert_uint_eq(info.vtype, 7);
    ck_assert_uint_eq(info.pins, 1);
    ck_assert(check(base + info.offset, 1000, 1));
    ck_assert_int_eq(objstore_release(s, id, 2), OBJSTORE_NOT_FOUND); /* not client 2's pin */
    ck_assert_int_eq(objstore_release(s, id, 1), OBJSTORE_OK);
    ck_assert_int_eq(objstore_release(s, id, 1), OBJSTORE_NOT_FOUND);
    ck_assert_int_eq(objstore_get(s, id, -1, &info), OBJSTORE_EINVAL);
    /* zero-size objects and put */
    ck_assert_int_eq(objstore_put(s, id0, 3, NULL, 0), OBJSTORE_OK);
    ck_assert_int_eq(objstore_lookup(s, id0, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.size, 0);
    ck_assert_int_eq(info.state, OBJSTORE_SEALED);
    ck_assert_uint_eq(info.pins, 0);
    uint8_t missing[IDS_SIZE];
    make_id(missing, 9, 9);
    ck_assert_int_eq(objstore_get(s, missing, 1, &info), OBJSTORE_NOT_FOUND);
    ck_assert_int_eq(objstore_seal(s, missing), OBJSTORE_NOT_FOUND);
    struct objstore_stats st;
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.capacity, 64 * KB);
    ck_assert_uint_eq(st.num_objects, 2);
    ck_assert_uint_eq(st.used, 1024 + 64);
    ck_assert_uint_eq(st.pinned_bytes, 0);
    store_close(s);
}
END_TEST

START_TEST(test_objstore_bad_args)
{
    char err[256] = "";
    ck_assert_ptr_null(objstore_new("no-slash", 4096, "/tmp/x", err, sizeof err));
    ck_assert(err[0] != '\0');
    objstore *s = store_open(4096);
    char err2[256] = "";
    ck_assert_ptr_null(objstore_new(shm_name, 4096, spill_dir, err2, sizeof err2)); /* name taken */
    ck_assert_ptr_nonnull(strstr(err2, "shm_open"));
    ck_assert_ptr_null(objstore_client_map("/rayd-ut-objstore-none", 4096, err2, sizeof err2));
    ck_assert_ptr_null(objstore_client_map(shm_name, 8192, err2, sizeof err2)); /* too small */
    objstore_free(NULL);
    store_close(s);
}
END_TEST

START_TEST(test_objstore_client_map_zero_copy)
{
    objstore *s = store_open(256 * KB);
    char err[256];
    uint8_t *cbase = objstore_client_map(shm_name, 256 * KB, err, sizeof err);
    ck_assert_msg(cbase != NULL, "%s", err);
    uint8_t *dbase = objstore_base(s);
    ck_assert_ptr_ne(cbase, dbase);
    uint8_t id[IDS_SIZE];
    make_id(id, 1, 1);
    uint64_t off;
    ck_assert_int_eq(objstore_create(s, id, 0, 100 * KB, &off), OBJSTORE_OK);
    fill(cbase + off, 100 * KB, 5); /* the client writes in place */
    ck_assert_int_eq(objstore_seal(s, id), OBJSTORE_OK);
    ck_assert(check(dbase + off, 100 * KB, 5)); /* the daemon sees the same bytes */
    struct objstore_info info;
    ck_assert_int_eq(objstore_get(s, id, 4, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.offset, off);
    ck_assert(check(cbase + info.offset, 100 * KB, 5));
    objstore_client_unmap(cbase, 256 * KB);
    store_close(s);
}
END_TEST

/* 64 KiB store, 8000-byte objects: eight fill it. */
static void put_n(objstore *s, int n, uint32_t first)
{
    uint8_t id[IDS_SIZE], buf[8000];
    for (int i = 0; i < n; i++) {
        make_id(id, 1, first + (uint32_t)i);
        fill(buf, sizeof buf, first + (uint32_t)i);
        ck_assert_int_eq(objstore_put(s, id, 0, buf, sizeof buf), OBJSTORE_OK);
    }
}

START_TEST(test_objstore_spill_and_restore)
{
    objstore *s = store_open(64 * KB);
    put_n(s, 8, 0);
    uint8_t id[IDS_SIZE];
    struct objstore_info info;
    /* client 1 pins object 0 (the oldest): it must not spill */
    make_id(id, 1, 0);
    ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_FOUND);

    uint8_t idn[IDS_SIZE];
    make_id(idn, 1, 100);
    uint64_t off;
    ck_assert_int_eq(objstore_create(s, idn, 0, 8000, &off), OBJSTORE_FULL_RETRY);
    make_id(id, 1, 1);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SPILLING); /* LRU unpinned object chosen */
    make_id(id, 1, 0);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SEALED);
    pump_space(s, 1);
    ck_assert_int_eq(objstore_create(s, idn, 0, 8000, &off), OBJSTORE_OK);
    ck_assert_int_eq(objstore_seal(s, idn), OBJSTORE_OK);

    make_id(id, 1, 1);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SPILLED);
    ck_assert(spill_file_exists(id));
    ck_assert(objstore_contains(s, id));
    struct objstore_stats st;
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_spilled, 1);
    ck_assert_uint_eq(st.spilled_bytes, 8000);
    ck_assert_uint_ge(st.num_spills, 1);

    /* getting it back spills the next LRU object and restores it intact */
    ready_calls = 0;
    ck_assert_int_eq(objstore_get(s, id, 2, &info), OBJSTORE_SPILLED_RESTORING);
    ck_assert_int_eq(get_wait(s, id, 2, &info), OBJSTORE_FOUND);
    ck_assert_int_ge(ready_calls, 1);
    ck_assert(check((uint8_t *)objstore_base(s) + info.offset, 8000, 1));
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_restores, 1);
    make_id(id, 1, 2);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SPILLED);

    /* every object is still readable with the right bytes */
    for (uint32_t i = 0; i < 8; i++) {
        make_id(id, 1, i);
        int rc = get_wait(s, id, 3, &info);
        for (int k = 0; k < 20 && rc == OBJSTORE_FULL_RETRY; k++)
            rc = get_wait(s, id, 3, &info);
        ck_assert_int_eq(rc, OBJSTORE_FOUND);
        ck_assert_msg(check((uint8_t *)objstore_base(s) + info.offset, 8000, i), "object %u", i);
        ck_assert_int_eq(objstore_release(s, id, 3), OBJSTORE_OK);
    }
    store_close(s);
}
END_TEST

START_TEST(test_objstore_get_while_spilling)
{
    objstore *s = store_open(64 * KB);
    put_n(s, 8, 0);
    uint8_t id[IDS_SIZE], idn[IDS_SIZE];
    struct objstore_info info;
    uint64_t off;
    make_id(idn, 1, 100);
    ck_assert_int_eq(objstore_create(s, idn, 0, 8000, &off), OBJSTORE_FULL_RETRY);
    make_id(id, 1, 0);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SPILLING);
    /* readable while spilling: pinned, and the write's completion keeps it */
    ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_FOUND);
    ck_assert(check((uint8_t *)objstore_base(s) + info.offset, 8000, 0));
    pump_once(s);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SEALED);
    ck_assert(check((uint8_t *)objstore_base(s) + info.offset, 8000, 0));
    ck_assert(spill_file_exists(id)); /* kept: a later spill needs no write */
    ck_assert_int_eq(objstore_release(s, id, 1), OBJSTORE_OK);
    /* retry: the store spills the next object(s); object 0 is now most recent */
    int rc = objstore_create(s, idn, 0, 8000, &off);
    for (int i = 0; i < 10 && rc == OBJSTORE_FULL_RETRY; i++) {
        pump_once(s);
        rc = objstore_create(s, idn, 0, 8000, &off);
    }
    ck_assert_int_eq(rc, OBJSTORE_OK);
    store_close(s);
}
END_TEST

START_TEST(test_objstore_nomem_all_pinned)
{
    objstore *s = store_open(64 * KB);
    put_n(s, 8, 0);
    uint8_t id[IDS_SIZE];
    struct objstore_info info;
    for (uint32_t i = 0; i < 8; i++) {
        make_id(id, 1, i);
        ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_FOUND);
    }
    make_id(id, 1, 100);
    uint64_t off;
    ck_assert_int_eq(objstore_create(s, id, 0, 20000, &off), OBJSTORE_NOMEM);
    char msg[160];
    objstore_error_format(s, OBJSTORE_NOMEM, 20000, msg, sizeof msg);
    ck_assert_str_eq(msg, "object store full: asked 20000 bytes, 64000 of 65536 pinned");
    ck_assert_int_eq(objstore_create(s, id, 0, 1 << 20, &off), OBJSTORE_NOMEM);
    objstore_error_format(s, OBJSTORE_NOMEM, 1 << 20, msg, sizeof msg);
    ck_assert_str_eq(msg, "object store too small: asked 1048576 bytes, capacity 65536");
    /* the 1536 bytes left still take a small object */
    ck_assert_int_eq(objstore_create(s, id, 0, 1000, &off), OBJSTORE_OK);
    ck_assert_str_eq(objstore_rc_name(OBJSTORE_FULL_RETRY), "FULL_RETRY");
    /* client 1 goes away: everything can spill again */
    ck_assert_uint_eq(objstore_client_release_all(s, 1), 8);
    struct objstore_stats st;
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.pinned_bytes, 1024); /* the unsealed one */
    uint8_t id2[IDS_SIZE];
    make_id(id2, 1, 101);
    ck_assert_int_eq(objstore_create(s, id2, 0, 20000, &off), OBJSTORE_FULL_RETRY);
    store_close(s);
}
END_TEST

START_TEST(test_objstore_delete)
{
    objstore *s = store_open(64 * KB);
    put_n(s, 8, 0);
    uint8_t id[IDS_SIZE], idn[IDS_SIZE];
    struct objstore_info info;
    struct objstore_stats st;
    uint64_t off;
    make_id(id, 1, 3);
    ck_assert_int_eq(objstore_delete(s, id), OBJSTORE_OK);
    ck_assert_int_eq(objstore_delete(s, id), OBJSTORE_NOT_FOUND);
    ck_assert(!objstore_contains(s, id));
    make_id(idn, 1, 100);
    ck_assert_int_eq(objstore_create(s, idn, 0, 8000, &off), OBJSTORE_OK); /* no spill needed */
    ck_assert_int_eq(objstore_seal(s, idn), OBJSTORE_OK);

    /* a pinned object's delete waits for the last release */
    make_id(id, 1, 4);
    ck_assert_int_eq(objstore_get(s, id, 1, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, id, 2, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_delete(s, id), OBJSTORE_OK);
    ck_assert_int_eq(objstore_get(s, id, 3, &info), OBJSTORE_NOT_FOUND);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_NOT_FOUND);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.used, 64000);
    ck_assert_uint_eq(st.num_objects, 8);
    ck_assert_int_eq(objstore_release(s, id, 1), OBJSTORE_OK);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.used, 64000);
    ck_assert_uint_eq(objstore_client_release_all(s, 2), 1);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.used, 56000);
    ck_assert_uint_eq(st.num_objects, 7);
    ck_assert_uint_eq(st.pinned_bytes, 0);

    /* deletes that free memory fire the space callback from process */
    ck_assert_int_eq(space_calls, 0);
    objstore_process_completions(s);
    ck_assert_int_eq(space_calls, 1);
    space_calls = 0;

    /* deleting a spilled object removes its file */
    make_id(idn, 1, 101);
    ck_assert_int_eq(objstore_create(s, idn, 0, 16000, &off), OBJSTORE_FULL_RETRY);
    pump_space(s, 1);
    make_id(id, 1, 0);
    ck_assert_int_eq(objstore_lookup(s, id, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(info.state, OBJSTORE_SPILLED);
    ck_assert(spill_file_exists(id));
    ck_assert_int_eq(objstore_delete(s, id), OBJSTORE_OK);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_spilled, 0);
    /* the helper thread removes the file */
    for (int i = 0; i < 100 && spill_file_exists(id); i++)
        usleep(10000);
    ck_assert(!spill_file_exists(id));
    store_close(s);
}
END_TEST

/* A 64 KiB store holding put_n's first three objects; A and B: the first two's IDs. */
static objstore *store_of_three(uint8_t a[IDS_SIZE], uint8_t b[IDS_SIZE])
{
    objstore *s = store_open(64 * KB);
    put_n(s, 3, 0);
    make_id(a, 1, 0);
    make_id(b, 1, 1);
    return s;
}

START_TEST(test_objstore_client_release_all)
{
    uint8_t a[IDS_SIZE], b[IDS_SIZE];
    objstore *s = store_of_three(a, b);
    struct objstore_info info;
    ck_assert_int_eq(objstore_get(s, a, 3, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, a, 3, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, b, 3, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, b, 4, &info), OBJSTORE_FOUND);
    struct objstore_stats st;
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.pinned_bytes, 16000);
    ck_assert_uint_eq(objstore_client_release_all(s, 3), 3);
    ck_assert_uint_eq(objstore_client_release_all(s, 3), 0);
    ck_assert_uint_eq(objstore_client_release_all(s, 99), 0);
    ck_assert_int_eq(objstore_lookup(s, a, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.pins, 0);
    ck_assert_int_eq(objstore_lookup(s, b, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.pins, 1);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.pinned_bytes, 8000);
    store_close(s);
}
END_TEST

/* A transfer pins as client 1,000,000 + its connection: the per-client pin
 * counts must cost what the clients holding pins need, not an array as
 * large as the largest client number (8 MB before); and releasing such a
 * client's pins must still drop them all. */
START_TEST(test_objstore_large_client_ids_stay_small)
{
    uint8_t a[IDS_SIZE], b[IDS_SIZE];
    objstore *s = store_of_three(a, b);
    struct objstore_info info;
    struct objstore_stats st;
    struct mallinfo2 mi = mallinfo2();
    size_t heap0 = mi.uordblks + mi.hblkhd; /* in use: heap and mmap'd chunks */
    const int xfer = 1000000 + 7, big = (1 << 20) - 1;
    ck_assert_int_eq(objstore_get(s, a, xfer, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, a, xfer, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, b, xfer, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, b, big, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, b, 2, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_get(s, a, 1 << 20, &info), OBJSTORE_EINVAL); /* CLIENT_MAX */
    objstore_stats(s, &st);
    ck_assert_msg(st.pin_table_bytes > 0 && st.pin_table_bytes <= 4 * KB,
                  "pin counts of 3 clients take %llu bytes", (unsigned long long)st.pin_table_bytes);
    mi = mallinfo2();
    size_t heap1 = mi.uordblks + mi.hblkhd;
    ck_assert_msg(heap1 < heap0 + 64 * KB, "pinning grew the heap by %zu bytes", heap1 - heap0);
    ck_assert_uint_eq(st.pinned_bytes, 16000);
    /* the transfer's connection closes: its three pins go, the others stay */
    ck_assert_uint_eq(objstore_client_release_all(s, xfer), 3);
    ck_assert_uint_eq(objstore_client_release_all(s, xfer), 0);
    ck_assert_int_eq(objstore_lookup(s, a, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.pins, 0);
    ck_assert_int_eq(objstore_lookup(s, b, &info), OBJSTORE_FOUND);
    ck_assert_uint_eq(info.pins, 2);
    ck_assert_int_eq(objstore_release(s, b, big), OBJSTORE_OK);
    ck_assert_int_eq(objstore_release(s, b, big), OBJSTORE_NOT_FOUND);
    ck_assert_uint_eq(objstore_client_release_all(s, big), 0);
    ck_assert_uint_eq(objstore_client_release_all(s, 2), 1);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.pinned_bytes, 0);
    /* a deleted object that a large client pinned goes at its last release */
    ck_assert_int_eq(objstore_get(s, a, xfer, &info), OBJSTORE_FOUND);
    ck_assert_int_eq(objstore_delete(s, a), OBJSTORE_OK);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_objects, 3); /* delete pending: still pinned */
    ck_assert_uint_eq(objstore_client_release_all(s, xfer), 1);
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_objects, 2);
    ck_assert_int_eq(objstore_lookup(s, a, &info), OBJSTORE_NOT_FOUND);
    store_close(s);
}
END_TEST

static bool job_is(const uint8_t *id, void *arg)
{
    return ids_job(id) == *(uint32_t *)arg;
}

START_TEST(test_objstore_delete_if_job)
{
    objstore *s = store_open(1024 * KB);
    uint8_t id[IDS_SIZE];
    for (uint32_t i = 0; i < 300; i++) {
        make_id(id, 1 + i % 3, i);
        ck_assert_int_eq(objstore_put(s, id, 0, &i, sizeof i), OBJSTORE_OK);
    }
    uint32_t job = 2;
    ck_assert_uint_eq(objstore_delete_if(s, job_is, &job), 100);
    struct objstore_stats st;
    objstore_stats(s, &st);
    ck_assert_uint_eq(st.num_objects, 200);
    for (uint32_t i = 0; i < 300; i++) {
        make_id(id, 1 + i % 3, i);
        ck_assert_int_eq(objstore_contains(s, id), i % 3 != 1);
    }
    store_close(s);
}
END_TEST

/* objstore_foreach visits every live object once with its size and pins. */
struct visit_sum { uint64_t n, bytes, pinned; };
static bool visit_sum_fn(const uint8_t *id, const struct objstore_info *info, void *arg)
{
    (void)id;
    struct visit_sum *v = arg;
    v->n++;
    v->bytes += info->size;
    v->pinned += info->pins;
    return true;
}
static bool visit_stop_fn(const uint8_t *id, const struct objstore_info *info, void *arg)
{
    (void)id;
    (void)info;
    return ++*(int *)arg < 3;
}

START_TEST(test_objstore_foreach)
{
    objstore *s = store_open(1024 * KB);
    uint8_t id[IDS_SIZE];
    for (uint32_t i = 0; i < 10; i++) {
        make_id(id, 1, i);
        char data[100] = { 0 };
        ck_assert_int_eq(objstore_put(s, id, 0, data, 10 + i), OBJSTORE_OK);
    }
    make_id(id, 1, 3);
    struct objstore_info info;
    ck_assert_int_eq(objstore_get(s, id, 7, &info), OBJSTORE_FOUND);
    make_id(id, 1, 4);
    ck_assert_int_eq(objstore_delete(s, id), OBJSTORE_OK);
    struct visit_sum v = { 0 };
    ck_assert_uint_eq(objstore_foreach(s, visit_sum_fn, &v), 9);
    ck_assert_uint_eq(v.n, 9);
    ck_assert_uint_eq(v.bytes, 10 * 10 + 45 - 14);
    ck_assert_uint_eq(v.pinned, 1);
    int seen = 0;
    ck_assert_uint_eq(objstore_foreach(s, visit_stop_fn, &seen), 3); /* stops when told */
    make_id(id, 1, 3);
    ck_assert_int_eq(objstore_release(s, id, 7), OBJSTORE_OK);
    store_close(s);
}
END_TEST

static Suite *objstore_suite(void)
{
    Suite *s = suite_create("objstore");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_objstore_create_seal_get);
    tcase_add_test(tc, test_objstore_bad_args);
    tcase_add_test(tc, test_objstore_client_map_zero_copy);
    tcase_add_test(tc, test_objstore_spill_and_restore);
    tcase_add_test(tc, test_objstore_get_while_spilling);
    tcase_add_test(tc, test_objstore_nomem_all_pinned);
    tcase_add_test(tc, test_objstore_delete);
    tcase_add_test(tc, test_objstore_large_client_ids_stay_small);
    tcase_add_test(tc, test_objstore_client_release_all);
    tcase_add_test(tc, test_objstore_delete_if_job);
    tcase_add_test(tc, test_objstore_foreach);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(objstore_suite);
