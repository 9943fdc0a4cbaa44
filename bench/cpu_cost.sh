#!/usr/bin/env bash
# cpu_cost.sh — the CPU time one task (or actor call) costs, summed over every
# process that works on it: the node (rayd, all its threads), its workers and
# the driver. Throughput on a shared 2-core machine swings by half from one
# run to the next (other work takes the cores); CPU time per operation hardly
# moves, so this is how a change's cost to the hot path is told apart from
# noise (issues 13 and 17: "the hot path did not slow by more than 3 % / 5 %").
#
#   bench/cpu_cost.sh TREE... [-- BENCHMARK...]
#
# Each TREE is a built checkout (bin/ray, build/bench/bench_driver from
# bench/run.sh or built here). TREE may end in ":VAR=VALUE" to run that tree
# with an environment variable set (e.g. "/tmp/b:RAY_TIMELINE=0"). ROUNDS
# (default 5) rounds run every tree in turn (the order rotates each round),
# each round a fresh head of that tree; per round and benchmark: one warm-up
# pass (starts the workers), then BENCH_RUNS (default 5) passes of 10,000
# operations. The node's and the workers' CPU comes from their threads'
# /proc/PID/task/TID/schedstat (nanoseconds on a CPU) before and after; the
# driver's from its own getrusage (bash's `times` of a subshell). Output: per
# tree and benchmark, the median over rounds of CPU microseconds per operation
# (total, and node / workers / driver), with its spread.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/bench/trees.sh"
trees_args "bench/cpu_cost.sh TREE... [-- BENCHMARK...]" "$@"
[ ${#BENCHES[@]} -ge 1 ] || BENCHES=(single_client_tasks_async actor_calls_async_1_1)
ROUNDS=${ROUNDS:-5}
RUNS=${BENCH_RUNS:-5}
PER_RUN=10000
OUT=$(mktemp -d /tmp/raycpu.XXXXXX)
source "$ROOT/scripts/free_port.sh"
say() { printf 'cpu_cost: %s\n' "$*" >&2; }

# nanoseconds on a CPU of every thread of PID and of its children
proc_ns() {
    local p t s=0 v
    for p in "$1" $(ps -o pid= --ppid "$1"); do
        for t in /proc/"$p"/task/*/schedstat; do
            read -r v _ <"$t" 2>/dev/null && s=$((s + v))
        done
    done
    echo "$s"
}

one_round() { # TREE-SPEC ROUND
    local spec=$1 r=$2 tree env="" T port rayd b
    tree=${spec%%:*}
    [ "$tree" != "$spec" ] && env=${spec#*:}
    T=$(mktemp -d /tmp/raycpu-run.XXXXXX)
    mkdir -p "$T/home"
    port=$(free_port)
    (
        export HOME="$T/home"
        unset RAY_ADDRESS RAY_TOKEN
        [ -n "$env" ] && export "${env?}"
        "$tree/bin/ray" start --head --port "$port" --node-ip-address 127.0.0.1 --temp-dir "$T/head" \
            --num-cpus "$(nproc)" --object-store-memory 1GiB >/dev/null || exit 1
        rayd=$(cat "$T/head/session_latest/rayd.pid")
        for b in "${BENCHES[@]}"; do
            local drv=("$tree/build/bench/bench_driver" "127.0.0.1:$port" "$tree/build/bench/bench_job.so" "$b")
            BENCH_RUNS=1 "${drv[@]}" >/dev/null 2>&1 # warm-up: workers started
            local n0 n1 d
            n0=$(proc_ns "$rayd")
            d=$( (BENCH_RUNS=$RUNS "${drv[@]}" >/dev/null 2>&1; times) | tail -1)
            n1=$(proc_ns "$rayd")
            # `times` of the subshell's children: "0m1.234s 0m0.123s"
            local du
            du=$(echo "$d" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.0f", s * 1e9 }')
            echo "$spec $b $r $(((RUNS + 1) * PER_RUN)) $((n1 - n0)) $du"
        done
        "$tree/bin/ray" stop --force --temp-dir "$T/head" >/dev/null 2>&1
    )
    rm -rf "$T"
}

# the bench programs of each tree, built as bench/run.sh builds them
trees_build

for ((r = 1; r <= ROUNDS; r++)); do
    n=${#TREES[@]}
    for ((i = 0; i < n; i++)); do
        spec=${TREES[$(((i + r) % n))]}
        say "round $r/$ROUNDS: $spec"
        one_round "$spec" "$r" >>"$OUT/raw.txt" || say "round $r of $spec failed"
    done
done
echo "CPU microseconds per operation, median over $ROUNDS rounds (spread = (max-min)/median); $(nproc) CPUs, $(date -u +%Y-%m-%d), BENCH_RUNS=$RUNS x $PER_RUN"
printf '%-34s %-26s %9s %7s %8s %8s %8s\n' tree benchmark total spread node+wrk driver rounds
awk '
{ k = $1 " " $2; n[k]++; ops = $4; tot[k, n[k]] = ($5 + $6) / ops / 1000; nd[k, n[k]] = $5 / ops / 1000; dr[k, n[k]] = $6 / ops / 1000
  if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
function med(arr, k, c,    i, j, t, a) {
    for (i = 1; i <= c; i++) a[i] = arr[k, i]
    for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    lo = a[1]; hi = a[c]
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
END { for (i = 1; i <= m; i++) { k = order[i]; split(k, kk, " ")
        t = med(tot, k, n[k]); sp = t ? (hi - lo) / t : 0; a = med(nd, k, n[k]); b = med(dr, k, n[k])
        printf "%-34s %-26s %9.2f %6.0f%% %8.2f %8.2f %8d\n", kk[1], kk[2], t, 100 * sp, a, b, n[k] } }' "$OUT/raw.txt"
echo "(raw lines: $OUT/raw.txt: tree benchmark round ops node+workers_ns driver_ns)"
