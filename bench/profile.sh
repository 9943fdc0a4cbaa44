#!/usr/bin/env bash
# profile.sh — where the time of one benchmark goes, per operation: starts a
# fresh head of its own, warms the benchmark up, then runs it again under
#   1. perf stat (system-wide and per process): syscalls, context switches,
#      CPU migrations (and CPU time per process: system-wide cpu-clock would
#      be wall time x CPUs), divided by the operations the run made;
#   2. redis-cli INFO commandstats before/after: Redis commands per operation;
#   3. perf record -a: a CPU profile by process, by library and by symbol.
# and stops the head. Not part of `make bench`; the figures of round 1 in
# BENCHMARKS.md come from it.
#
#   bash bench/profile.sh BENCHMARK [RUNS]     (build/bench/ from bench/run.sh)
# BENCHMARK is one with a fixed amount of work per run:
#   single_client_tasks_async, actor_calls_async_1_1 (10,000 per run),
#   multi_client_tasks_async (4 threads x 10,000 per run),
#   task_latency_p50_us (1,000 sync tasks per run),
#   single_client_tasks_and_get_batch is time-based and not accepted.
# Output: a report on stdout; perf.data files are kept under $PROFILE_OUT
# (default /tmp/rayd-profile) for `perf report -i`.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
NAME=${1:?usage: profile.sh BENCHMARK [RUNS]}
RUNS=${2:-3}
case $NAME in
single_client_tasks_async | actor_calls_async_1_1) PER_RUN=10000 ;;
multi_client_tasks_async) PER_RUN=40000 ;; # 4 threads x 10,000
task_latency_p50_us) PER_RUN=1000 ;;
*) echo "profile.sh: $NAME has no fixed count per run" >&2; exit 2 ;;
esac
OPS=$(((RUNS + 1) * PER_RUN)) # the driver adds one warm-up run
RAY="$ROOT/bin/ray"
B="$ROOT/build/bench"
OUTD=${PROFILE_OUT:-/tmp/rayd-profile}
mkdir -p "$OUTD"
[ -x "$B/bench_driver" ] || { echo "build/bench/bench_driver missing: run bench/run.sh once" >&2; exit 1; }

T=$(mktemp -d /tmp/raybprof.XXXXXX)
export HOME="$T/home"
mkdir -p "$HOME"
unset RAY_ADDRESS RAY_TOKEN
trap '"$RAY" stop --force --temp-dir "$T/head" >/dev/null 2>&1; rm -rf "$T"' EXIT
source "$ROOT/scripts/free_port.sh"
PORT=$(free_port)
"$RAY" start --head --port "$PORT" --node-ip-address 127.0.0.1 --temp-dir "$T/head" \
    --num-cpus "$(nproc)" --object-store-memory 1536MiB >/dev/null || exit 1
RAYD=$(cat "$T/head/session_latest/rayd.pid")
DRIVER=("$B/bench_driver" "127.0.0.1:$PORT" "$B/bench_job.so" "$NAME")
redis() { redis-cli -h 127.0.0.1 -p "$PORT" -a "$(cat "$HOME/.ray/auth_token")" --no-auth-warning "$@"; }
# calls per Redis command from INFO commandstats
cmdstats() { redis info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1 \2/p' | sort; }

echo "== $NAME: $RUNS runs + 1 warm-up = $OPS operations (a first untimed pass starts workers)"
BENCH_RUNS=1 "${DRIVER[@]}" >/dev/null 2>&1

# 1. counters, system-wide and per process (rayd and its workers by pid)
cmdstats >"$T/redis.before"
perf stat -a -x, -e raw_syscalls:sys_enter,context-switches,cpu-migrations \
    -o "$T/stat.all" -- env BENCH_RUNS="$RUNS" "${DRIVER[@]}" >"$T/run.json" 2>/dev/null
cmdstats >"$T/redis.after"
echo "-- result of the counted run: $(head -1 "$T/run.json")"
echo "-- system-wide, per operation:"
awk -F, -v ops="$OPS" '$3 != "" && $1 ~ /^[0-9.]+$/ { printf "   %-26s %10.2f\n", $3, $1 / ops }' "$T/stat.all"

echo "-- per process, per operation (one more counted run):"
WORKERS=$(ps -o pid= --ppid "$RAYD" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
perf stat -x, --per-thread -e raw_syscalls:sys_enter,context-switches,cpu-clock \
    -p "$RAYD${WORKERS:+,$WORKERS}" -o "$T/stat.procs" &
sp=$!
sleep 0.5
perf stat -x, -e raw_syscalls:sys_enter,context-switches,cpu-clock -o "$T/stat.driver" \
    -- env BENCH_RUNS="$RUNS" "${DRIVER[@]}" >/dev/null 2>&1
kill -INT "$sp"
wait "$sp" 2>/dev/null
# --per-thread lines: comm-tid,value,unit,event,...; sum by role (rayd, its
# workers, its redis-server child)
awk -F, -v ops="$OPS" -v rayd="$RAYD" '
    $2 ~ /^[0-9.]+$/ {
        split($1, a, "-"); tid = a[length(a)]
        role = "workers" # started before the counters attached
        cmd = "cat /proc/" tid "/status 2>/dev/null | grep ^Tgid"; tg = ""
        cmd | getline tg; close(cmd); sub(/Tgid:[ \t]*/, "", tg)
        if (tg == rayd) role = "rayd"
        if ($1 ~ /^redis-server/) role = "redis"
        v[role, $4] += $2; roles[role] = 1; ev[$4] = 1
    }
    END { for (r in roles) for (e in ev) printf "   %-8s %-26s %10.2f\n", r, e, v[r, e] / ops }' \
    "$T/stat.procs" | sort
awk -F, -v ops="$OPS" '$3 != "" && $1 ~ /^[0-9.]+$/ { printf "   %-8s %-26s %10.2f\n", "driver", $3, $1 / ops }' "$T/stat.driver"

echo "-- Redis commands per operation:"
join -a2 "$T/redis.before" "$T/redis.after" | awk -v ops="$OPS" '
    { before = NF == 3 ? $2 : 0; after = $NF; if (after > before) printf "   %-20s %8.3f\n", $1, (after - before) / ops; n++ }
    END { if (n == 0) print "   (none)" }'

# 2. CPU profile of everything on the machine during one more run
perf record -q -a -F 2000 -g -o "$OUTD/$NAME.perf.data" -- env BENCH_RUNS="$RUNS" "${DRIVER[@]}" \
    >/dev/null 2>&1
echo "-- CPU samples by process (perf record -a):"
perf report -q -g none -i "$OUTD/$NAME.perf.data" --no-children --sort pid 2>/dev/null | head -8
echo "-- by library:"
perf report -q -g none -i "$OUTD/$NAME.perf.data" --no-children --sort dso 2>/dev/null | head -8
echo "-- top symbols (all processes):"
perf report -q -g none -i "$OUTD/$NAME.perf.data" --no-children --sort comm,dso,sym 2>/dev/null |
    grep -v '^$' | head -30
echo "(perf data: $OUTD/$NAME.perf.data; rayd pid $RAYD, workers $WORKERS)"
