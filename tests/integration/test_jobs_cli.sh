# test_jobs_cli.sh — `ray submit` end to end through the node's job code
# (runtime/jobs.c, runtime/workers.c): the driver's and the workers' output
# reach the CLI line by line (worker lines prefixed, long lines split, a last
# partial line kept), the exit status comes back (signals as 128+N with a
# message), the library is cached by hash, Ctrl-C (JOB_STOP) and a vanished
# CLI stop the driver (SIGKILL when it ignores SIGTERM), and the job's state
# lands in the GCS.
source "$(dirname "$0")/lib.sh"

cat >"$T/job_io.c" <<'EOF'
#include <ray.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int shout(ray_task *t, const ray_value *args, size_t nargs)
{
    printf("hello from task %lld\n", (long long)args[0].as.i);
    fprintf(stderr, "warn %lld\n", (long long)args[0].as.i);
    fflush(stdout);
    return ray_return(t, RAY_I(args[0].as.i * 2));
}
RAY_REMOTE(shout);

int ray_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "io";
    if (strcmp(mode, "crash") == 0)
        raise(SIGSEGV);
    if (strcmp(mode, "stubborn") == 0 || strcmp(mode, "sleep") == 0) {
        if (strcmp(mode, "stubborn") == 0)
            signal(SIGTERM, SIG_IGN);
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    ray_value arg = RAY_I(21);
    ray_ref ref;
    ray_value v;
    if (ray_call("shout", &arg, 1, NULL, &ref) != RAY_OK || ray_get(ref, -1, &v) != RAY_OK)
        return 1;
    printf("driver out %lld args=%d %s\n", (long long)v.as.i, argc, argc > 2 ? argv[2] : "");
    fprintf(stderr, "driver err\n");
    static char big[20001];
    memset(big, 'x', 20000);
    puts(big);
    printf("partial");
    return 3;
}
EOF
cc -shared -fPIC -O1 -I"$ROOT/include" "$T/job_io.c" -o "$T/job_io.so" || { fail "cannot build the test job"; finish; }

P=$(free_port)
H=$T/head
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"
S=$H/session_latest
submit() { timeout 60 "$RAY" submit --temp-dir "$H" "$T/job_io.so" -- "$@"; }

# 1. output and exit status
submit io "two words" >"$T/out" 2>"$T/err"
rc=$?
check "exit status of ray_main comes back (3, got $rc)" test "$rc" -eq 3
check "driver stdout unprefixed" grep -qx 'driver out 42 args=3 two words' "$T/out"
check "driver stderr on stderr" grep -qx 'driver err' "$T/err"
check "worker stdout prefixed with task, pid, node" \
    grep -Eq '^\(shout pid=[0-9]+ node=[0-9a-f]{8}\) hello from task 21$' "$T/out"
check "worker stderr prefixed, on stderr" grep -Eq '^\(shout pid=[0-9]+ node=[0-9a-f]{8}\) warn 21$' "$T/err"
check "a 20000-byte line arrives as 16384 + 3616" \
    bash -c "awk '/^x+\$/ {print length(\$0)}' '$T/out' | tr '\n' ' ' | grep -qx '16384 3616 '"
check "a last line without newline is kept" grep -qx 'partial' "$T/out"
check "job log file written" grep -q 'driver out 42' "$S/logs/job-00000001.log"
check "raw worker output file written" bash -c "cat '$S'/logs/worker-*.out | grep -qx 'hello from task 21'"
hash=$(sha256sum "$T/job_io.so" | cut -d' ' -f1)
check "library cached by sha256, mode 0600" \
    bash -c "test \"\$(stat -c %a '$S/jobs/$hash.so')\" = 600"

# 2. a driver killed by a signal
submit crash >"$T/out" 2>"$T/err"
rc=$?
check "signal death is 128+11 (got $rc)" test "$rc" -eq 139
check "signal death explained" grep -q 'driver killed by signal 11' "$T/err"

# 3. Ctrl-C: JOB_STOP, SIGTERM ignored, SIGKILL after 2 s
timeout 60 "$RAY" submit --temp-dir "$H" "$T/job_io.so" -- stubborn >"$T/out3" 2>"$T/err3" &
cli=$!
check "stubborn driver runs" wait_for 20 grep -qx ready "$T/out3"
wait_for 5 grep -q 'job 00000003: driver pid' "$S/logs/rayd_head.log"
drv=$(grep -o 'job 00000003: driver pid [0-9]*' "$S/logs/rayd_head.log" | awk '{print $NF}')
kill -INT "$cli"
wait "$cli"
rc=$?
check "stopped driver reported as SIGKILL (137, got $rc)" test "$rc" -eq 137
check "stopped driver is gone" test -n "$drv" -a ! -d "/proc/${drv:-0}"

# 4. the CLI vanishes: the driver gets SIGTERM
"$RAY" submit --temp-dir "$H" "$T/job_io.so" -- sleep >"$T/out4" 2>&1 &
cli=$!  # the CLI itself (not a timeout wrapper): killing it closes its connection
check "sleeping driver runs" wait_for 20 grep -qx ready "$T/out4"
wait_for 5 grep -q 'job 00000004: driver pid' "$S/logs/rayd_head.log"
drv=$(grep -o 'job 00000004: driver pid [0-9]*' "$S/logs/rayd_head.log" | awk '{print $NF}')
{ kill -KILL "$cli"; wait "$cli"; } 2>/dev/null
check "driver of a vanished CLI stops" wait_for 10 test -n "$drv" -a ! -d "/proc/${drv:-0}"
check "it was stopped by the node" grep -q 'job 00000004: stopping driver' "$S/logs/rayd_head.log"

# 5. job states in the GCS
tok=$(cat "$HOME/.ray/auth_token")
check "job 1 FAILED (exit 3)" wait_for 5 bash -c "[ \"\$(redis-cli --no-auth-warning -a '$tok' -h 127.0.0.1 -p '$P' HGET ray:default:job:00000001 state)\" = FAILED ]"
check "job 4 ended" wait_for 5 bash -c "[ \"\$(redis-cli --no-auth-warning -a '$tok' -h 127.0.0.1 -p '$P' HGET ray:default:job:00000004 state)\" = FAILED ]"
submit sum >/dev/null 2>&1
check "rayd still running" kill -0 "$(rayd_pid "$H")"
rpid=$(rayd_pid "$H")
# every job has ended: their workers are killed and reaped
check "no worker process left" \
    wait_for 10 bash -c "[ -z \"\$(ps --ppid '$rpid' -o args= | grep -e '--worker')\" ]"
finish
