# lib.sh — helpers for integration tests: real rayd nodes and a real
# redis-server on loopback, each test in its own `mktemp -d` with its own
# HOME (so ~/.ray/auth_token is the test's), and nothing left running.
# Sourced by tests/integration/test_*.sh.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RAY="$ROOT/bin/ray"
RAYD="$ROOT/bin/rayd"
T=$(mktemp -d /tmp/rayit.XXXXXX)
export HOME="$T/home"
mkdir -p "$HOME"
unset RAY_ADDRESS RAY_TOKEN
# Under `make test SANITIZE=...`: let crashes kill workers by their signal (the
# tests check RAY_EWORKER names it), and report errors, not leaks, of processes
# that are killed or exit on purpose.
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_abort=0:handle_sigbus=0:handle_sigfpe=0:detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FAILS=0
exec 3>&2   # start_head/start_node say why a start failed here, whatever the caller redirects
TEMP_DIRS=()

log() { printf '  [%s] %s\n' "$(basename "$0" .sh)" "$*"; }
fail() { printf '  FAIL [%s]: %s\n' "$(basename "$0" .sh)" "$*"; FAILS=$((FAILS + 1)); }
ok() { printf '  ok   [%s]: %s\n' "$(basename "$0" .sh)" "$*"; }
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# check_out DESCRIPTION FILE REGEX: ok if FILE matches; else show its tail.
check_out() {
    if grep -Eq "$3" "$2"; then ok "$1"; else fail "$1"; tail -5 "$2" | sed 's/^/      | /'; fi
}

# free_port: a free TCP port on loopback
source "$ROOT/scripts/free_port.sh"

# start_head TEMPDIR PORT [flags...]: ray start --head on 127.0.0.1. Prints
# ray start's output (callers redirect it; a copy stays in TEMPDIR.start.out,
# the daemons' own in the session's logs/, and a failing test shows them).
start_head() {
    local td=$1 port=$2; shift 2
    TEMP_DIRS+=("$td")
    "$RAY" start --head --port "$port" --node-ip-address 127.0.0.1 --temp-dir "$td" \
        --object-store-memory 256MiB "$@" >"$td.start.out" 2>&1
    local rc=$?
    cat "$td.start.out"
    [ $rc -eq 0 ] || echo "  start_head $td failed: $(tail -3 "$td.start.out")" >&3
    return $rc
}
# start_node TEMPDIR IP GCS_ADDR [flags...]
start_node() {
    local td=$1 ip=$2 addr=$3; shift 3
    TEMP_DIRS+=("$td")
    "$RAY" start --address "$addr" --node-ip-address "$ip" --temp-dir "$td" \
        --object-store-memory 256MiB "$@" >"$td.start.out" 2>&1
    local rc=$?
    cat "$td.start.out"
    [ $rc -eq 0 ] || echo "  start_node $td failed: $(tail -3 "$td.start.out")" >&3
    return $rc
}

# After a failure: the tail of every log the test's nodes (and their Redis)
# wrote, so `make test` shows daemons' output only when it matters.
show_logs() {
    local td f
    for td in "${TEMP_DIRS[@]}"; do
        for f in "$td.start.out" "$td"/session_[0-9]*/logs/rayd*.log "$td"/session_[0-9]*/logs/rayd.out \
                 "$td"/session_[0-9]*/logs/redis.log; do
            show_log "$f"
        done
    done
    show_log "$T/redis/log" # a Redis the test started itself
}
show_log() {
    [ -s "$1" ] || return 0
    echo "  --- ${1#$T/} (last 15 lines)"
    tail -15 "$1" | sed 's/^/      | /'
}
# pid of the rayd whose session lives under TEMPDIR
rayd_pid() { cat "$1"/session_latest/rayd.pid 2>/dev/null; }

# Live (non-zombie) processes whose command line contains PATTERN; prints
# "pid args" lines. (Zombies are counted as gone: in some sandboxes pid 1
# never reaps the daemons that `ray start` detached.)
live_procs() { ps -eo pid=,stat=,args= | awk -v pat="$1" '$2 !~ /^Z/ && index($0, pat) && !/awk/ {print}'; }
# True if PID is alive and not a zombie.
pid_alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [[ $st != Z* ]]; }

# Wait up to SECONDS for COMMAND to succeed.
wait_for() {
    local secs=$1; shift
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

cleanup() {
    local td
    for td in "${TEMP_DIRS[@]}"; do "$RAY" stop --force --temp-dir "$td" >/dev/null 2>&1; done
    # anything still alive that belongs to this test
    pkill -9 -f "$T" >/dev/null 2>&1
    # then (nothing left running whatever happens to our output) the logs of a failure
    [ "$FAILS" -gt 0 ] && show_logs
    if [ -n "${RAY_TEST_KEEP:-}" ] && [ "$FAILS" -gt 0 ]; then
        echo "  (kept $T for a look: RAY_TEST_KEEP is set)"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

# End of a test file: report and exit with the failure count.
finish() {
    # a sanitizer report from any daemon, worker or driver fails the test
    local bad
    bad=$(grep -rlE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$T" 2>/dev/null | head -3)
    if [ -n "$bad" ]; then fail "sanitizer reports in: $bad"; grep -rhE -A12 "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" $bad | head -40; fi
    if [ "$FAILS" -eq 0 ]; then exit 0; fi
    exit 1
}
