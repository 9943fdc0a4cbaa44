#!/usr/bin/env bash
# serve_profile.sh — where the CPU of one Serve request goes: starts a head
# of its own, deploys the benchmark's no-op handler (2 replicas, as
# bench/serve.sh does), warms it up, then drives it with
# `wrk -t2 -c64 -d${SECS}s` while reading each process's CPU time from
# /proc (rayd, the proxy's worker, each replica, redis-server, wrk), and
# prints the CPU microseconds per request of each (wrk's from `time`); with PERF=1 a second run
# goes under `perf record -a -g` (report in $OUT/perf.txt). Stops the head.
# Not part of `make bench`; the per-process figures in BENCHMARKS.md's Serve
# section come from it.
#
#   bash bench/serve_profile.sh [SECS]          (after make, make testjobs)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
SECS=${1:-8}
RAY="$ROOT/bin/ray"
OUT=${PROFILE_OUT:-/tmp/rayd-serve-profile}
mkdir -p "$OUT"
T=$(mktemp -d /tmp/rayserveprof.XXXXXX)
export HOME="$T/home"
mkdir -p "$HOME"
unset RAY_ADDRESS RAY_TOKEN
trap '"$RAY" stop --force --temp-dir "$T/head" >/dev/null 2>&1; rm -rf "$T"' EXIT
source "$ROOT/scripts/free_port.sh"
PORT=$(free_port)
HP=$(free_port)
cc -std=gnu11 -O2 -g -shared -fPIC -Iinclude tests/integration/jobs/job_serve.c -o "$T/job_serve.so" || exit 1
"$RAY" start --head --port "$PORT" --node-ip-address 127.0.0.1 --temp-dir "$T/head" \
    --num-cpus "$(nproc)" >/dev/null || exit 1
cat >"$T/bench.yaml" <<YAML
http_options: {host: 127.0.0.1, port: $HP}
applications:
  - name: bench
    route_prefix: /
    deployments:
      - name: noop
        num_replicas: 2
        max_ongoing_requests: 64
YAML
timeout 120 "$RAY" serve deploy --temp-dir "$T/head" "$T/job_serve.so" "$T/bench.yaml" >/dev/null || exit 1
URL="http://127.0.0.1:$HP/"
for _ in $(seq 1 50); do curl -s -m 2 "$URL" >/dev/null && break; sleep 0.2; done
wrk -t2 -c64 -d2s "$URL" >/dev/null 2>&1 # warm

RAYD=$(cat "$T/head/session_latest/rayd.pid")
# label PID: what the process is
label() {
    local pid=$1 cmd
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    [ "$pid" = "$RAYD" ] && { echo rayd; return; }
    case $cmd in
    *redis-server*) echo redis ;;
    *) if grep -q ray_serve_proxy "/proc/$pid/maps" 2>/dev/null || ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket"; then :; fi
       if ss -Htlnp "sport = :$HP" 2>/dev/null | grep -q "pid=$pid,"; then echo proxy; else echo "worker"; fi ;;
    esac
}
PIDS="$RAYD $(pgrep -P "$RAYD" | tr '\n' ' ')"
# ticks PID: utime+stime in clock ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A T0 T1
for p in $PIDS; do T0[$p]=$(ticks "$p"); done
TIMEFORMAT='%U %S'
{ time wrk -t2 -c64 -d"${SECS}s" --latency "$URL" >"$T/wrk.out" 2>&1; } 2>"$T/wrk.time"
for p in $PIDS; do T1[$p]=$(ticks "$p"); done
REQ=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
HZ=$(getconf CLK_TCK)
echo "== $REQ requests in ${SECS}s: $(awk '/Requests\/sec/ { print $2 }' "$T/wrk.out") req/s, $(awk '$1 == "99%" { print "p99 " $2 }' "$T/wrk.out")"
echo "-- CPU microseconds per request, by process"
for p in $PIDS; do
    d=$((T1[$p] - T0[$p]))
    [ "$d" -gt 0 ] || continue
    printf '  %-8s %6s  %8.1f us\n' "$(label "$p")" "$p" "$(awk -v d="$d" -v hz="$HZ" -v n="$REQ" 'BEGIN { print d / hz * 1e6 / n }')"
done
printf '  %-8s %6s  %8.1f us\n' wrk - "$(awk -v n="$REQ" '{ print ($1 + $2) * 1e6 / n }' "$T/wrk.time")"
if [ "${PERF:-0}" = 1 ]; then
    : >"$OUT/pids.txt" # ROLE PID TIDS..., for perf report --pid / --tid
    for p in $PIDS; do echo "$(label "$p") $p $(ls "/proc/$p/task" 2>/dev/null | tr '\n' ' ')" >>"$OUT/pids.txt"; done
    # syscalls and context switches per request, by process (all its threads)
    perf stat -x, --per-thread -e raw_syscalls:sys_enter,context-switches -p "$(echo $PIDS | tr ' ' ',')" \
        -o "$T/stat" -- wrk -t2 -c64 -d"${SECS}s" "$URL" >"$T/wrk2.out" 2>&1
    REQ2=$(awk '/requests in/ { print $1 }' "$T/wrk2.out")
    echo "-- per request ($REQ2 requests of a second run): syscalls, context switches, by process"
    awk -F, -v n="$REQ2" '
        FNR == NR { for (i = 3; i <= NF; i++) role[$i] = $1 " " $2; next }
        $0 ~ /^#/ || NF < 4 { next }
        { k = split($1, a, "-"); r = role[a[k]]; if (r == "") next }
        $4 ~ /sys_enter/ { sc[r] += $2 } $4 ~ /context-switches/ { cs[r] += $2 }
        END { for (r in sc) printf "  %-14s %6.2f syscalls %6.2f switches\n", r, sc[r] / n, cs[r] / n }' \
        FS=' ' "$OUT/pids.txt" FS=, "$T/stat"
    perf record -a -g -o "$OUT/perf.data" -- wrk -t2 -c64 -d"${SECS}s" "$URL" >/dev/null 2>&1
    perf report -i "$OUT/perf.data" --no-children --sort comm,dso,sym --stdio 2>/dev/null | grep -v '^$' | head -150 >"$OUT/perf.txt"
    for p in $PIDS; do
        echo "-- $(label "$p") $p: top symbols"
        perf report -i "$OUT/perf.data" --no-children -g none --pid "$p" --sort dso,sym --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -25
    done >"$OUT/perf_by_process.txt"
    echo "perf report: $OUT/perf.txt, $OUT/perf_by_process.txt, threads in $OUT/pids.txt"
fi
