# test_build.sh — what `make` delivers: one rayd binary whose only dynamic
# libraries are libc's (third-party libraries are static), bin/ray a link to
# it, and `make install` putting binaries, libray.a, ray.h and ray.pc under
# PREFIX, from which a job library and a standalone driver build.
source "$(dirname "$0")/lib.sh"

libs=$(ldd "$RAYD" | awk '{print $1}' | sed 's/\.so.*//' | sort -u | tr '\n' ' ')
check "rayd links only libc's libraries dynamically ($libs)" \
    bash -c "! ldd '$RAYD' | grep -Eq 'hiredis|event|msgpack|yaml|check'"
check "bin/ray is a link to rayd" test "$(readlink "$RAY")" = rayd
check "rayd exports ray_* for job libraries" bash -c "nm -D '$RAYD' | grep -q ' T ray_call$'"

# the flavour under test (plain or sanitizer) is already built: install that one
make -C "$ROOT" --no-print-directory install SANITIZE="${SANITIZE:-}" PREFIX=/opt/rayd DESTDIR="$T/root" >/dev/null 2>&1
D=$T/root/opt/rayd
for f in bin/rayd bin/ray lib/libray.a include/ray.h lib/pkgconfig/ray.pc; do
    check "make install puts $f" test -e "$D/$f"
done
check "ray.pc names the prefix" grep -q '^prefix=/opt/rayd' "$D/lib/pkgconfig/ray.pc"
cat >"$T/job.c" <<'JOB'
#include <ray.h>
static int one(ray_task *t, const ray_value *a, size_t n) { (void)a; (void)n; return ray_return(t, RAY_I(1)); }
RAY_REMOTE(one);
int ray_main(int argc, char **argv) { (void)argc; (void)argv; return 0; }
JOB
check "a job library builds against the installed header, linking nothing" \
    cc -shared -fPIC -I"$D/include" "$T/job.c" -o "$T/job.so"
# (a sanitizer build's libray.a needs the sanitizer runtime at link time)
SAN=${SANITIZE:+-fsanitize=$SANITIZE}
check "a standalone driver links with pkg-config's flags" bash -c \
    "PKG_CONFIG_PATH='$D/lib/pkgconfig' cc $SAN -I'$D/include' '$ROOT/examples/driver_standalone.c' \
     \$(PKG_CONFIG_PATH='$D/lib/pkgconfig' pkg-config --libs ray | sed 's|-L/opt/rayd/lib|-L$D/lib|') -o '$T/driver'"

# libray.a exports ray_* only: its own hiredis, libevent and internals are
# local, so a driver that links its own hiredis and libevent and has
# functions named like ours (log_info, buf_append: duplicate definitions
# before) builds, and each side uses its own copy: the program's event loop
# ticks, its redisContext talks to the cluster's Redis, and libray runs a
# task on the same cluster.
bad=$(nm -g --defined-only "$ROOT/lib/libray.a" 2>/dev/null | awk 'NF == 3 && $3 !~ /^ray_/ {print $3}' | head -3)
check "libray.a defines no global symbol but ray_* (${bad:-none})" test -z "$bad"
# and never aborts on out-of-memory: the daemon's aborting allocators are not in it
xm=$(nm "$ROOT/lib/libray.a" 2>/dev/null | grep -Ew '[tTU] x(malloc|calloc|realloc|reallocarray|strdup|strndup|memdup|asprintf)' | head -3 | tr '\n' ' ')
check "libray.a holds none of xmalloc's aborting wrappers (${xm:-none})" test -z "$xm"
# nor the daemon's aborting ids_random (common/xids.c): its code calls ids_random_fill
xi=$(nm "$ROOT/lib/libray.a" 2>/dev/null | grep -Ew '[tTU] ids_random' | head -3 | tr '\n' ' ')
check "libray.a holds no aborting ids_random (${xi:-none})" test -z "$xi"
cat >"$T/clash.c" <<'CLASH'
#include <ray.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void log_info(const char *msg) { puts(msg); }                       /* names libray uses inside */
int buf_append(char *dst, const char *s) { return sprintf(dst, "%s", s); }
static void tick(evutil_socket_t fd, short what, void *arg) { (void)fd; (void)what; ++*(int *)arg; }
/* clash HOST PORT TOKEN LIBRARY */
int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    /* the program's own libevent: a timer ticking in its own event_base */
    struct event_base *b = event_base_new();
    int ticks = 0;
    struct event *ev = event_new(b, -1, EV_PERSIST, tick, &ticks);
    struct timeval every = { 0, 10000 }, stop = { 0, 100000 };
    event_add(ev, &every);
    event_base_loopexit(b, &stop);
    event_base_dispatch(b);
    /* its own hiredis: the cluster's Redis, which holds the GCS */
    redisContext *c = redisConnect(argv[1], atoi(argv[2]));
    redisReply *r = c && !c->err ? redisCommand(c, "AUTH %s", argv[3]) : NULL;
    if (r)
        freeReplyObject(r);
    r = c && !c->err ? redisCommand(c, "SCARD ray:default:nodes") : NULL;
    long long nodes = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    /* and libray, with its own copies inside, on the same cluster */
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%s", argv[1], argv[2]);
    int rc = ray_init(&(ray_config){ .address = addr, .library = argv[4] });
    ray_ref ref;
    ray_value seven = RAY_I(7), v = RAY_NIL_V;
    if (rc == RAY_OK && (rc = ray_call("square", &seven, 1, NULL, &ref)) == RAY_OK)
        rc = ray_get(ref, 30000, &v);
    printf("libevent %s: %s; hiredis: %lld node(s) in the GCS; libray: square(7) = %lld (%s)\n",
           event_get_version(), ticks >= 3 ? "ticks" : "no ticks", nodes,
           rc == RAY_OK && v.type == RAY_INT ? (long long)v.as.i : -1LL,
           rc == RAY_OK ? "ok" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    ray_shutdown();
    char line[16];
    buf_append(line, "own");
    log_info(line);
    redisFree(c);
    event_free(ev);
    event_base_free(b);
    return rc == RAY_OK && ticks >= 3 && nodes == 1 ? 0 : 1;
}
CLASH
check "a driver with its own hiredis, libevent, log_info and buf_append links with libray.a" \
    cc $SAN -I"$ROOT/include" "$T/clash.c" -rdynamic -L"$ROOT/lib" -lray \
    -Wl,-Bstatic -lhiredis -levent_core -Wl,-Bdynamic -lpthread -ldl -lm -o "$T/clash"
P=$(free_port)
start_head "$T/head" "$P" --num-cpus 1 >/dev/null
check "head starts" test -n "$(rayd_pid "$T/head")"
timeout 60 "$T/clash" 127.0.0.1 "$P" "$(cat "$HOME/.ray/auth_token")" "$ROOT/examples/build/job_squares.so" \
    >"$T/clash.out" 2>&1
rc=$?
check "and runs (exit $rc)" test "$rc" -eq 0
check_out "each library working: its event loop, its Redis client, libray's task" "$T/clash.out" \
    "^libevent 2\.[0-9.]+-stable: ticks; hiredis: 1 node\(s\) in the GCS; libray: square\(7\) = 49 \(ok\)"
check_out "calling its own functions" "$T/clash.out" "^own$"

# and never aborts: a driver whose every allocation fails in turn, on the same cluster
timeout 120 "$ROOT/build/tools/nomem_driver" "127.0.0.1:$P" "$ROOT/examples/build/job_squares.so" \
    >"$T/nomem.out" 2>&1
rc=$?
log "$(tail -1 "$T/nomem.out")"
check "a driver out of memory at each allocation in turn gets RAY_ENOMEM, never a crash (exit $rc)" test "$rc" -eq 0
check_out "every allocation point tried, then all is well" "$T/nomem.out" \
    "^nomem_driver: [1-9][0-9]* allocation points, [1-9][0-9]* answered RAY_ENOMEM, 0 other failures, 0 wrong answers, afterwards ok"
finish
