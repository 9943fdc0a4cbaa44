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
# before) builds, and each side uses its own copy
bad=$(nm -g --defined-only "$ROOT/lib/libray.a" 2>/dev/null | awk 'NF == 3 && $3 !~ /^ray_/ {print $3}' | head -3)
check "libray.a defines no global symbol but ray_* (${bad:-none})" test -z "$bad"
cat >"$T/clash.c" <<'CLASH'
#include <ray.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
void log_info(const char *msg) { puts(msg); }                       /* names libray uses inside */
int buf_append(char *dst, const char *s) { return sprintf(dst, "%s", s); }
int main(void)
{
    struct event_base *b = event_base_new();        /* the program's own libevent */
    redisReader *r = redisReaderCreate();            /* and its own hiredis */
    ray_value v;
    int rc = ray_init(&(ray_config){ .address = "127.0.0.1:1" }); /* libray's: no cluster there */
    printf("libevent %s, hiredis reader %s, ray_init %s\n", event_get_version(), r ? "ok" : "none",
           rc == RAY_ECONN || rc == RAY_EINVAL ? "refused" : ray_strerror(rc));
    (void)v;
    char line[16];
    buf_append(line, "own");
    log_info(line);
    redisReaderFree(r);
    event_base_free(b);
    return b && r ? 0 : 1;
}
CLASH
check "a driver with its own hiredis, libevent, log_info and buf_append links with libray.a" \
    cc $SAN -I"$ROOT/include" "$T/clash.c" -rdynamic -L"$ROOT/lib" -lray \
    -Wl,-Bstatic -lhiredis -levent_core -Wl,-Bdynamic -lpthread -ldl -lm -o "$T/clash"
"$T/clash" >"$T/clash.out" 2>&1
check_out "and runs, each library working" "$T/clash.out" "^libevent 2\.[0-9.]+-stable, hiredis reader ok, ray_init refused"
check_out "calling its own functions" "$T/clash.out" "^own$"
finish
