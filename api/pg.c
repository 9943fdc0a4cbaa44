/*
 * pg.c — the placement-group calls of ray.h: create, wait, remove, lookup
 * (docs/api.md "Placement groups"). Each is a request to the node, which
 * hands it to the head's group manager (runtime/pg.c). ray_pg_wait repeats
 * its query, backing off from 0.2 ms to 20 ms, until the group is placed or
 * the deadline passes: no task runs for it and nothing hangs.
 *
 * The process remembers the groups it created or looked up (bundle count)
 * and those it removed, so that a call naming a bundle out of range or a
 * group it removed fails with RAY_EPG at once (api_pg_check_); for others
 * the head decides and the call's ray_get says RAY_EPG.
 */
#include "api/api_internal.h"

#include "common/ids.h"
#include "sched/resources.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_KNOWN_MAX 4096

struct known_pg {
    uint8_t id[RAY_ID_SIZE];
    size_t nbundles;
    bool removed;
};
static pthread_mutex_t known_mu = PTHREAD_MUTEX_INITIALIZER;
static struct known_pg known[PG_KNOWN_MAX];
static size_t nknown, known_next;

static void known_note(const uint8_t *id, size_t nbundles, bool removed)
{
    pthread_mutex_lock(&known_mu);
    size_t i;
    for (i = 0; i < nknown; i++)
        if (memcmp(known[i].id, id, RAY_ID_SIZE) == 0)
            break;
    if (i == nknown) {
        if (nknown < PG_KNOWN_MAX) {
            i = nknown++;
        } else {
            i = known_next;
            known_next = (known_next + 1) % PG_KNOWN_MAX;
        }
        memcpy(known[i].id, id, RAY_ID_SIZE);
        known[i].nbundles = nbundles;
    }
    if (nbundles)
        known[i].nbundles = nbundles;
    known[i].removed |= removed;
    pthread_mutex_unlock(&known_mu);
}

int api_pg_check_(ray_pg pg, int bundle)
{
    char hex[2 * RAY_ID_SIZE + 1];
    ids_hex(pg.id, RAY_ID_SIZE, hex);
    if (bundle < -1)
        return api_error_(RAY_EPG, "bundle index %d of placement group %s is invalid (-1: any)",
                          bundle, hex);
    int rc = RAY_OK;
    pthread_mutex_lock(&known_mu);
    for (size_t i = 0; i < nknown; i++) {
        if (memcmp(known[i].id, pg.id, RAY_ID_SIZE) != 0)
            continue;
        if (known[i].removed)
            rc = api_error_(RAY_EPG, "placement group %s was removed", hex);
        else if (known[i].nbundles && bundle >= (int)known[i].nbundles)
            rc = api_error_(RAY_EPG, "bundle index %d out of range: placement group %s has %zu "
                            "bundles", bundle, hex, known[i].nbundles);
        break;
    }
    pthread_mutex_unlock(&known_mu);
    return rc;
}

/* Send FRAME (carrying REQID) and read PG_REPLY's status and message. */
static int pg_request(struct buf *frame, uint64_t reqid, int *status, char *msg, size_t msglen)
{
    void *body = NULL;
    struct proto_msg m;
    int rc = api_client_request_(frame, reqid, &body, &m);
    if (rc != RAY_OK)
        return rc;
    *status = (int)m.f[1].as.i;
    snprintf(msg, msglen, "%.*s", (int)m.f[2].as.s.len, m.f[2].as.s.ptr);
    free(body);
    return RAY_OK;
}

static int known_status(int status)
{
    /* a code of ray.h, else "the node could not" */
    return status <= 0 && status >= RAY_EPG ? status : RAY_ECONN;
}

int ray_pg_create(const char *const *bundles, size_t n, ray_pg_strategy s, const char *name,
                  ray_pg *out)
{
    api_error_clear_();
    if (out == NULL || (n > 0 && bundles == NULL))
        return api_error_(RAY_EINVAL, "ray_pg_create: bundles and out must not be NULL");
    if (n == 0 || n > 64)
        return api_error_(RAY_EINVAL, "ray_pg_create: a placement group needs 1 to 64 bundles "
                          "(got %zu)", n);
    if ((int)s < RAY_PACK || (int)s > RAY_STRICT_SPREAD)
        return api_error_(RAY_EINVAL, "ray_pg_create: unknown strategy %d", (int)s);
    char err[200];
    for (size_t i = 0; i < n; i++) {
        if (bundles[i] == NULL)
            return api_error_(RAY_EINVAL, "ray_pg_create: bundle %zu is NULL", i);
        if (res_scan(bundles[i], NULL, NULL, err, sizeof err) < 0)
            return api_error_(RAY_EINVAL, "bundle %zu \"%s\": %s", i, bundles[i], err);
    }
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    uint8_t id[RAY_ID_SIZE];
    uint32_t job = api_client_job_();
    id[0] = (uint8_t)(job >> 24);
    id[1] = (uint8_t)(job >> 16);
    id[2] = (uint8_t)(job >> 8);
    id[3] = (uint8_t)job;
    if ((rc = api_random_(id + 4, RAY_ID_SIZE - 4, "ray_pg_create")) != RAY_OK)
        return rc;

    struct buf spec = BUF_INIT, f = BUF_INIT;
    mpw_map(&spec, 4);
    api_spec_key_(&spec, "id");
    mpw_bin(&spec, id, RAY_ID_SIZE);
    api_spec_key_(&spec, "bundles");
    mpw_array(&spec, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        mpw_cstr(&spec, bundles[i]);
    api_spec_key_(&spec, "strategy");
    mpw_uint(&spec, (uint64_t)s);
    api_spec_key_(&spec, "name");
    mpw_cstr(&spec, name && name[0] ? name : NULL);
    uint64_t reqid = api_client_reqid_();
    int status = 0;
    char msg[512];
    if ((rc = api_buf_check_(&spec, "ray_pg_create")) != RAY_OK)
        ;
    else if (proto_pack(&f, PROTO_PG_CREATE, reqid, spec.data, spec.len) < 0)
        rc = api_pack_error_(&f, "ray_pg_create: the group is too large for one message");
    else if ((rc = pg_request(&f, reqid, &status, msg, sizeof msg)) == RAY_OK && status != RAY_OK)
        rc = api_error_(known_status(status), "ray_pg_create: %s", msg);
    buf_free(&spec);
    buf_free(&f);
    if (rc != RAY_OK)
        return rc;
    known_note(id, n, false);
    memcpy(out->id, id, RAY_ID_SIZE);
    return RAY_OK;
}

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ray_pg_wait(ray_pg pg, int64_t timeout_ms)
{
    api_error_clear_();
    char hex[2 * RAY_ID_SIZE + 1];
    ids_hex(pg.id, RAY_ID_SIZE, hex);
    if (ids_is_zero(pg.id))
        return api_error_(RAY_EINVAL, "ray_pg_wait: not a placement group");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    long long deadline = timeout_ms < 0 ? -1 : mono_us() + timeout_ms * 1000;
    long long pause_us = 200;
    char state[64] = "";
    for (;;) {
        struct buf f = BUF_INIT;
        uint64_t reqid = api_client_reqid_();
        int status = 0;
        proto_pack(&f, PROTO_PG_WAIT, reqid, pg.id);
        rc = pg_request(&f, reqid, &status, state, sizeof state);
        buf_free(&f);
        if (rc != RAY_OK)
            return rc;
        if (status == RAY_OK)
            return RAY_OK;
        if (status < 0) {
            if (status == RAY_EPG)
                known_note(pg.id, 0, true);
            return api_error_(known_status(status), "ray_pg_wait: %s", state);
        }
        long long now = mono_us();
        if (deadline >= 0 && now >= deadline)
            return api_error_(RAY_ETIMEOUT, "placement group %s is still %s after %lld ms "
                              "(see `ray status`)", hex, state, (long long)timeout_ms);
        long long sleep_us = pause_us;
        if (deadline >= 0 && now + sleep_us > deadline)
            sleep_us = deadline - now;
        struct timespec ts = { (time_t)(sleep_us / 1000000), (long)(sleep_us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
        if (pause_us < 20000)
            pause_us *= 2;
    }
}

int ray_pg_remove(ray_pg pg)
{
    api_error_clear_();
    if (ids_is_zero(pg.id))
        return api_error_(RAY_EINVAL, "ray_pg_remove: not a placement group");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    struct buf f = BUF_INIT;
    uint64_t reqid = api_client_reqid_();
    int status = 0;
    char msg[512];
    proto_pack(&f, PROTO_PG_REMOVE, reqid, pg.id);
    rc = pg_request(&f, reqid, &status, msg, sizeof msg);
    buf_free(&f);
    if (rc != RAY_OK)
        return rc;
    if (status != RAY_OK)
        return api_error_(known_status(status), "ray_pg_remove: %s", msg);
    known_note(pg.id, 0, true);
    return RAY_OK;
}

int ray_pg_lookup(const char *name, ray_pg *out)
{
    api_error_clear_();
    if (name == NULL || name[0] == '\0' || out == NULL)
        return api_error_(RAY_EINVAL, "ray_pg_lookup: name and out must be given");
    void *body;
    struct proto_msg m;
    int status;
    int rc = api_client_lookup_(PROTO_PG_LOOKUP, name, &body, &m, &status);
    if (rc != RAY_OK)
        return rc;
    if (status == RAY_OK) {
        memcpy(out->id, m.f[2].as.s.ptr, RAY_ID_SIZE);
        known_note(out->id, (size_t)m.f[3].as.u, false);
    } else if (status == RAY_ENOTFOUND) {
        rc = api_error_(RAY_ENOTFOUND, "no placement group named '%s'", name);
    } else {
        rc = api_error_(known_status(status), "cannot look up placement group '%s': %.*s", name,
                        (int)m.f[4].as.s.len, m.f[4].as.s.ptr);
    }
    free(body);
    return rc;
}
