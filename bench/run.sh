#!/usr/bin/env bash
# run.sh — `make bench`: rayd's microbenchmark suite (issue 5). Builds the
# bench programs into build/bench/, measures this machine's floor
# (bench_floor), starts a fresh local head node of its own (and, for the
# cross-node transfer, a second node on 127.0.0.2), runs every benchmark
# (bench_driver: warm-up + BENCH_RUNS measurements, median and range), stops
# everything, and prints one JSON line per figure on stdout, then a table with
# the target, the ratio to it and the fraction of the floor. Progress goes to
# stderr. Never part of CI: there is no pass/fail.
#
# Environment:
#   BENCH_ONLY=name1,name2   run only these benchmarks (floor probes always run)
#   BENCH_RUNS=N             measurements per benchmark (default 5)
#   BENCH_SECONDS=S          length of one time-based measurement (default 1)
#   BENCH_DRAIN_N=N          tasks queued by queued_1m_tasks_drain (default
#                            1,000,000, as its name says)
#   BENCH_ACTORS_N=N         actors made by actors_10k_create_per_s (10,000,
#   BENCH_ACTORS_WINDOW=W    sharing worker processes), at most W alive at once (1,000)
#   BENCH_ACTORS_OWN_N=N     the same for actors_10k_create_per_s_own_process
#   BENCH_ACTORS_OWN_WINDOW=W (a process per actor: 600 and 256)
#   BENCH_ACTOR_SHARE=1      the actor_calls_* benchmarks' actors share worker
#                            processes (share_worker; docs/actors-shared.md)
#   BENCH_JSON=FILE          also copy the JSON lines to FILE
#   BENCH_TLS=1              the benchmark cluster's nodes talk TLS (--tls-*, a
#                            throwaway CA made with openssl): TLS's cost
# The JSON lines are always written to build/bench/results.jsonl as well. A
# figure whose spread ((max - min) / median) is over 30 % is marked in the
# table ("!" after its range, and a line below it): do not quote it alone.
# See bench/README.md for what each benchmark measures.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
RAY="$ROOT/bin/ray"
B="$ROOT/build/bench"
RUNS=${BENCH_RUNS:-5}
ONLY=${BENCH_ONLY:-}
DRAIN_N=${BENCH_DRAIN_N:-1000000}
export BENCH_RUNS=$RUNS BENCH_DRAIN_N=$DRAIN_N

say() { printf 'bench: %s\n' "$*" >&2; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# ---- build -------------------------------------------------------------------
WARN="-Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers"
mkdir -p "$B"
say "building into build/bench/"
cc -std=gnu11 -O2 -g $WARN -Iinclude bench/bench_floor.c -o "$B/bench_floor" &&
    cc -std=gnu11 -O2 -g $WARN -Iinclude bench/bench_driver.c -rdynamic -Llib -lray \
        -lpthread -ldl -lm -o "$B/bench_driver" &&
    cc -std=gnu11 -shared -fPIC -O2 -g $WARN -Iinclude bench/bench_job.c -o "$B/bench_job.so" ||
    { say "build failed"; exit 1; }
[ -x "$RAY" ] || { say "bin/ray missing: run make first"; exit 1; }

T=$(mktemp -d /tmp/raybench.XXXXXX)
export HOME="$T/home"
mkdir -p "$HOME"
unset RAY_ADDRESS RAY_TOKEN
RES="$T/results.jsonl"
: >"$RES"
STARTED=()
cleanup() {
    local td
    for td in "${STARTED[@]}"; do "$RAY" stop --force --temp-dir "$td" >/dev/null 2>&1; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# emit NAME UNIT VALUES... : a JSON line with the median, runs, min and max
emit() {
    local name=$1 unit=$2; shift 2
    printf '%s\n' "$@" | sort -g | awk -v n="$name" -v u="$unit" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { printf "{\"benchmark\": \"%s\", \"value\": null, \"unit\": \"%s\", \"note\": \"no measurement\"}\n", n, u; exit }
            med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "{\"benchmark\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"runs\": %d, \"min\": %.6g, \"max\": %.6g}\n", n, med, u, NR, v[1], v[NR]
        }' | tee -a "$RES"
}
# emit_null NAME UNIT NOTE
emit_null() { printf '{"benchmark": "%s", "value": null, "unit": "%s", "note": "%s"}\n' "$1" "$2" "$3" | tee -a "$RES"; }
# lines of the driver go to the results as they are
collect() { tee -a "$RES"; }

source "$ROOT/scripts/free_port.sh"
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# status_kb PID FIELD: a /proc/PID/status field in kB
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
kb_to_mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

# ---- the machine's floor -------------------------------------------------------
say "floor probes (ping-pong, fork+exec, memcpy, loopback TCP)"
"$B/bench_floor" "$RUNS" | collect

# ---- start_head_ms -------------------------------------------------------------
if want start_head_ms; then
    say "start_head_ms: $((RUNS + 1)) x ray start --head / ray stop"
    vals=()
    for i in $(seq 0 "$RUNS"); do
        td="$T/start$i" port=$(free_port)
        STARTED+=("$td")
        t0=$(ms_now)
        if ! "$RAY" start --head --port "$port" --node-ip-address 127.0.0.1 --temp-dir "$td" \
            --num-cpus 1 --object-store-memory 256MiB >"$T/start.out" 2>&1; then
            say "ray start failed: $(tail -2 "$T/start.out")"
            break
        fi
        t1=$(ms_now)
        "$RAY" stop --temp-dir "$td" >/dev/null 2>&1
        [ "$i" -gt 0 ] && vals+=($((t1 - t0)))
    done
    emit start_head_ms ms "${vals[@]}"
fi

# ---- the benchmark cluster -------------------------------------------------------
TLS_FLAGS=()
if [ "${BENCH_TLS:-0}" = 1 ]; then
    K="$T/pki"
    mkdir -p "$K"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" -days 1 \
        -subj "/CN=bench CA" >/dev/null 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -keyout "$K/n.key" -out "$K/n.csr" -subj "/CN=n" \
        >/dev/null 2>&1 &&
    openssl x509 -req -in "$K/n.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial \
        -out "$K/n.pem" -days 1 >/dev/null 2>&1 || { say "cannot make TLS certificates"; exit 1; }
    TLS_FLAGS=(--tls-cert "$K/n.pem" --tls-key "$K/n.key" --tls-ca "$K/ca.pem")
    say "TLS between nodes (BENCH_TLS=1)"
fi
NCPU=$(nproc)
H="$T/head" PORT=$(free_port)
STARTED+=("$H")
say "starting head on 127.0.0.1:$PORT (--num-cpus $NCPU, 1536 MiB store)"
if ! "$RAY" start --head --port "$PORT" --node-ip-address 127.0.0.1 --temp-dir "$H" \
    --num-cpus "$NCPU" --object-store-memory 1536MiB "${TLS_FLAGS[@]}" >"$T/head.out" 2>&1; then
    say "ray start failed:"; cat "$T/head.out" >&2; exit 1
fi
ADDR="127.0.0.1:$PORT"
RAYD_PID=$(cat "$H/session_latest/rayd.pid")
DRIVER=("$B/bench_driver" "$ADDR" "$B/bench_job.so")
export BENCH_RAYD_PID=$RAYD_PID # the worker memory figures count this node's workers only

if want rayd_idle_rss_mb; then
    sleep 1
    vals=()
    for _ in 1 2 3; do vals+=("$(kb_to_mib "$(status_kb "$RAYD_PID" VmRSS)")"); sleep 0.2; done
    say "rayd idle: $(grep -E 'RssAnon|RssFile|RssShmem' "/proc/$RAYD_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
    emit rayd_idle_rss_mb MiB "${vals[@]}"
fi

if want worker_idle_rss_mb; then
    say "worker_idle_rss_mb: a driver starts $NCPU workers and sleeps"
    "${DRIVER[@]}" idle 4 >"$T/idle.out" 2>"$T/idle.err" &
    idle_pid=$!
    for _ in $(seq 1 100); do grep -q ready "$T/idle.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    vals=()
    for w in $(ps -o pid= --ppid "$RAYD_PID"); do
        if tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null | grep -q -- '--worker'; then
            vals+=("$(kb_to_mib "$(status_kb "$w" VmRSS)")")
        fi
    done
    wait "$idle_pid"
    if [ ${#vals[@]} -eq 0 ]; then
        emit_null worker_idle_rss_mb MiB "no idle worker found: $(tail -1 "$T/idle.err")"
    else
        emit worker_idle_rss_mb MiB "${vals[@]}"
    fi
fi

MAIN=(single_client_tasks_sync single_client_tasks_async multi_client_tasks_async
      actor_calls_sync_1_1 actor_calls_async_1_1 actor_calls_async_n_n
      single_client_put_calls single_client_get_calls single_client_put_gigabytes
      single_client_wait_1k_refs single_client_tasks_and_get_batch task_latency_p50_us
      placement_group_create_removal pool_map_100k_items actors_10k_create_per_s
      actors_10k_create_per_s_own_process)
sel=()
for n in "${MAIN[@]}"; do
    if want "$n" || { [ "$n" = task_latency_p50_us ] && want task_latency_p99_us; }; then sel+=("$n"); fi
done
if [ ${#sel[@]} -gt 0 ]; then
    say "running ${#sel[@]} driver benchmarks, $RUNS runs each"
    timeout 480 "${DRIVER[@]}" "${sel[@]}" | collect
fi

if [ "${BENCH_LONG:-0}" = 1 ]; then
    # make bench-long: ten minutes of tasks on one cluster; the last minute
    # must hold within 10 % of the first and Redis' memory stay flat
    rcli() { redis-cli -h 127.0.0.1 -p "$PORT" -a "$(cat "$H/session_latest/auth_token")" --no-auth-warning "$@"; }
    mem_mb() { rcli info memory | awk -F: '/^used_memory:/ { printf "%.2f", $2 / 1048576 }'; }
    m0=$(mem_mb)
    say "steady_tasks_async_10min: ${BENCH_STEADY_S:-600} s of single_client_tasks_async batches"
    # Redis' memory once a minute meanwhile: flat once the capped tables are full
    ( while sleep 60; do echo "$(mem_mb)"; done ) >"$T/redis_mem" &
    sampler=$!
    timeout 900 "${DRIVER[@]}" steady_tasks_async_10min | collect
    kill "$sampler" 2>/dev/null
    m1=$(mem_mb)
    m_first=$(head -1 "$T/redis_mem")
    emit steady_redis_used_mb_start MiB "$m0"
    emit steady_redis_used_mb_first_min MiB "${m_first:-$m1}"
    emit steady_redis_used_mb_end MiB "$m1"
    say "Redis used_memory: $m0 MiB before, $(tr '\n' ' ' <"$T/redis_mem")MiB each minute, $m1 MiB after"
    ONLY=${ONLY:-none} # nothing else in a long run
fi

if want queued_1m_tasks_drain; then
    say "queued_1m_tasks_drain with N=$DRAIN_N (BENCH_DRAIN_N)"
    echo 5 >"/proc/$RAYD_PID/clear_refs" 2>/dev/null # reset VmHWM to the current RSS
    timeout 480 "${DRIVER[@]}" queued_1m_tasks_drain >"$T/drain.json"
    sed -e "s/}\$/, \"tasks\": $DRAIN_N}/" "$T/drain.json" | collect
    emit queued_drain_rayd_peak_rss_mb MiB "$(kb_to_mib "$(status_kb "$RAYD_PID" VmHWM)")"
fi

if want timeline_100k_tasks_s || want timeline_100k_tasks_mb || want timeline_100k_tasks_all_s; then
    # 100,000 tasks (their submit, execute and store-output spans), then
    # `ray timeline` as a user runs it (the newest 100,000 events, its
    # default --limit) and of every event kept (--limit 1000000, the _all
    # figures): seconds and megabytes of the output (issue 13: Ray's took
    # 30 s and 900 MB for 3,000 tasks)
    say "timeline_100k_tasks: 100000 tasks, then ray timeline"
    BENCH_DRAIN_N=100000 timeout 480 "${DRIVER[@]}" queued_1m_tasks_drain >/dev/null
    sleep 0.5
    for lim in 100000 1000000; do
        vals_s=() vals_mb=()
        for _ in $(seq 1 "$RUNS"); do
            t0=$(date +%s%N)
            "$RAY" timeline --address "$ADDR" --limit "$lim" -o "$T/timeline.json" >"$T/tl.out" 2>&1 || {
                say "ray timeline failed: $(tail -1 "$T/tl.out")"; break; }
            t1=$(date +%s%N)
            vals_s+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
            vals_mb+=("$(awk -v s="$(stat -c %s "$T/timeline.json")" 'BEGIN { printf "%.2f", s / 1e6 }')")
        done
        say "  --limit $lim: $(cat "$T/tl.out")"
        sfx=$([ "$lim" = 100000 ] && echo "" || echo _all)
        emit "timeline_100k_tasks${sfx}_s" s "${vals_s[@]}"
        emit "timeline_100k_tasks${sfx}_mb" MB "${vals_mb[@]}"
    done
    rm -f "$T/timeline.json"
fi

if want cross_node_transfer_gigabytes; then
    N2="$T/node2"
    STARTED+=("$N2")
    say "cross_node_transfer_gigabytes: second node on 127.0.0.2"
    if "$RAY" start --address "$ADDR" --node-ip-address 127.0.0.2 --temp-dir "$N2" --num-cpus 1 \
        --resources '{"bench_remote": 1}' --object-store-memory 1536MiB "${TLS_FLAGS[@]}" \
        >"$T/n2.out" 2>&1; then
        timeout 300 "${DRIVER[@]}" cross_node_transfer_gigabytes | collect
        "$RAY" stop --temp-dir "$N2" >/dev/null 2>&1
    else
        emit_null cross_node_transfer_gigabytes GB/s \
            "second node did not start: $(tail -1 "$T/n2.out" | tr -d '"\\')"
    fi
fi

if want allreduce_gbps; then
    # ray_collective's allreduce (4 actors, 64 MiB float32, SUM) and, in the
    # same run on the same machine, OpenMPI's MPI_Allreduce of the same array
    # on 4 ranks; then their ratio (issue 15: >= 0.5)
    AR_ITERS=${BENCH_ALLREDUCE_ITERS:-3}
    say "allreduce_gbps: 4 ranks, 64 MiB float32, $RUNS runs of $AR_ITERS (ray_collective, then OpenMPI)"
    if cc -std=gnu11 -shared -fPIC -O2 -g $WARN -Iinclude bench/bench_collective.c \
        -o "$B/bench_collective.so" 2>"$T/ar_build.err"; then
        timeout 480 "$RAY" submit --address "$ADDR" "$B/bench_collective.so" -- "$RUNS" "$AR_ITERS" \
            2>"$T/ar.err" | grep '^{' >"$T/ar.json"
        [ -s "$T/ar.json" ] || echo '{"benchmark": "allreduce_gbps", "value": null, "unit": "GB/s", "note": "the job printed nothing"}' >"$T/ar.json"
        collect <"$T/ar.json"
        timeout 480 "$RAY" submit --address "$ADDR" "$B/bench_collective.so" -- "$RUNS" "$AR_ITERS" 64 ring \
            2>>"$T/ar.err" | grep '^{' | collect
    else
        emit_null allreduce_gbps GB/s "build failed: $(head -1 "$T/ar_build.err" | tr -d '"\\')"
    fi
    if command -v mpicc >/dev/null && command -v mpirun >/dev/null &&
        mpicc -O2 -o "$B/bench_mpi_allreduce" bench/bench_mpi_allreduce.c 2>"$T/mpi_build.err"; then
        timeout 300 mpirun --allow-run-as-root --oversubscribe -np 4 "$B/bench_mpi_allreduce" \
            "$RUNS" "$AR_ITERS" 2>"$T/mpi.err" | grep '^{' >"$T/mpi.json"
        [ -s "$T/mpi.json" ] || echo "{\"benchmark\": \"allreduce_gbps_openmpi\", \"value\": null, \"unit\": \"GB/s\", \"note\": \"mpirun: $(tail -1 "$T/mpi.err" | tr -d '"\\')\"}" >"$T/mpi.json"
        collect <"$T/mpi.json"
    else
        emit_null allreduce_gbps_openmpi GB/s "mpicc/mpirun missing or the build failed (openmpi-bin, libopenmpi-dev)"
    fi
    ours=$(sed -n 's/.*"value": \([0-9.e+-]*\).*/\1/p' "$T/ar.json")
    theirs=$(sed -n 's/.*"value": \([0-9.e+-]*\).*/\1/p' "$T/mpi.json")
    if [ -n "$ours" ] && [ -n "$theirs" ]; then
        awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "{\"benchmark\": \"allreduce_vs_openmpi\", \"value\": %.3g, \"unit\": \"ratio\", \"runs\": 1, \"min\": %.3g, \"max\": %.3g}\n", a / b, a / b, a / b }' | collect
    fi
fi

if want serve_qps; then
    timeout 300 bash "$ROOT/bench/serve.sh" "$RAY" "$H" "$T" | collect
fi

"$RAY" stop --temp-dir "$H" >/dev/null 2>&1

if want observability_instr_pct; then
    # issue 13's bound, in instructions: what the timeline's and the metrics'
    # own code execute per task and per actor call, as a share of everything
    # every process executes for it (bench/instr_cost.sh: valgrind's
    # callgrind over the node, Redis, the workers and the driver; about 5
    # minutes). Throughput and CPU time swing too much here to show 3 %.
    if command -v valgrind >/dev/null; then
        say "observability_instr_pct: callgrind over every process (bench/instr_cost.sh)"
        INSTR_JSON=1 timeout 900 bash "$ROOT/bench/instr_cost.sh" "$ROOT" -- single_client_tasks_async \
            actor_calls_async_1_1 | collect
    else
        emit_null observability_instr_pct % "valgrind is not installed"
    fi
fi

if want cluster_100_nodes_join_s; then
    say "cluster_100_nodes_*: ${BENCH_NODES:-100} nodes on this machine (bench/cluster_scale.sh)"
    timeout 600 bash "$ROOT/bench/cluster_scale.sh" "$RAY" "$T" | collect
fi
if want cluster_up_s || want scale_up_s; then
    say "cluster_up_s, scale_up_s: ray up and the autoscaler over SSH to namespace hosts (bench/launcher.sh)"
    timeout 400 bash "$ROOT/bench/launcher.sh" "$RAY" "$T" | collect
fi
cp "$RES" "$B/results.jsonl"
[ -n "${BENCH_JSON:-}" ] && cp "$RES" "$BENCH_JSON"
say "JSON lines in build/bench/results.jsonl"

# ---- the table ---------------------------------------------------------------------
# name | better (hi/lo) | target | floor formula (see bench/README.md)
TARGETS='single_client_tasks_sync|hi|10000|rtt2
single_client_tasks_async|hi|100000|
multi_client_tasks_async|hi|100000|
actor_calls_sync_1_1|hi|10000|rtt2
actor_calls_async_1_1|hi|150000|
actor_calls_async_n_n|hi|150000|
single_client_put_calls|hi|100000|
single_client_get_calls|hi|200000|rtt1
single_client_put_gigabytes|hi|6|memcpy
single_client_wait_1k_refs|hi|100|
single_client_tasks_and_get_batch|hi|50|
task_latency_p50_us|lo||rtt2us
task_latency_p99_us|lo||rtt2us
start_head_ms|lo|300|exec2
rayd_idle_rss_mb|lo|16|
worker_idle_rss_mb|lo||
cross_node_transfer_gigabytes|hi|1|tcpbw
queued_1m_tasks_drain|hi|50000|
queued_drain_rayd_peak_rss_mb|lo|1024|
timeline_100k_tasks_s|lo|5|
timeline_100k_tasks_mb|lo|50|
timeline_100k_tasks_all_s|lo|5|
timeline_100k_tasks_all_mb|lo|50|
placement_group_create_removal|hi||
single_client_tasks_async_observability_instr_pct|lo|3|
actor_calls_async_1_1_observability_instr_pct|lo|3|
pool_map_100k_items|hi|100000|
steady_tasks_async_10min|hi||
steady_tasks_async_first_min|hi||
steady_redis_used_mb_start|lo||
steady_redis_used_mb_first_min|lo||
steady_redis_used_mb_end|lo||
actors_10k_create_per_s|hi|2000|
actors_10k_worker_rss_mib|lo||
actors_10k_create_per_s_own_process|hi||
actors_own_process_worker_rss_mib|lo||
allreduce_gbps|hi||
allreduce_gbps_ring|hi||
allreduce_gbps_openmpi|hi||
allreduce_vs_openmpi|hi|0.5|
cluster_100_nodes_join_s|lo|20|
cluster_100_nodes_status_s|lo|1|
cluster_100_nodes_head_rss_mb|lo|64|
cluster_100_nodes_gcs_cmds_per_node_s|lo|1|
serve_qps|hi|20000|
serve_latency_p50_ms|lo||
serve_latency_p99_ms|lo|10|
serve_floor_qps|hi||
serve_floor_latency_p99_ms|lo||
serve_fraction_of_floor|hi|0.4|
cluster_up_s|lo|10|
scale_up_s|lo|5|'
echo
awk -v targets="$TARGETS" '
function field(line, key,    s) {
    if (match(line, "\"" key "\": (null|[-0-9.eE+]+|\"[^\"]*\")") == 0) return ""
    s = substr(line, RSTART, RLENGTH)
    sub("^\"" key "\": ", "", s)
    return s
}
BEGIN {
    n = split(targets, t, "\n")
    for (i = 1; i <= n; i++) { split(t[i], f, "|"); better[f[1]] = f[2]; target[f[1]] = f[3]; flo[f[1]] = f[4] }
}
{
    name = field($0, "benchmark"); gsub(/"/, "", name)
    val[name] = field($0, "value"); unit[name] = field($0, "unit"); gsub(/"/, "", unit[name])
    lo[name] = field($0, "min"); hi[name] = field($0, "max"); note[name] = field($0, "note")
    order[++cnt] = name
}
END {
    rtt = val["floor_unix_rtt_us"]; exe = val["floor_fork_exec_ms"]
    mc = val["floor_memcpy_gbps"]; tbw = val["floor_tcp_gbps"]
    printf "%-34s %12s %-9s %21s %9s %8s %9s %8s\n", "benchmark", "median", "unit", "range (min..max)", "target", "ratio", "floor", "of floor"
    for (i = 1; i <= cnt; i++) {
        b = order[i]
        if (val[b] == "null") { gsub(/^"|"$/, "", note[b]); printf "%-34s %12s %-9s  %s\n", b, "n/a", unit[b], note[b]; continue }
        v = val[b] + 0
        rng = sprintf("%.4g..%.4g", lo[b], hi[b])
        if (lo[b] != "" && v != 0 && (hi[b] - lo[b]) / (v < 0 ? -v : v) > 0.3) { rng = rng "!"; wide[++nwide] = b }
        ratio = "-"; tg = "-"
        if (target[b] != "") {
            tg = (better[b] == "lo" ? "<=" : ">=") target[b]
            ratio = sprintf("%.3g", better[b] == "lo" ? target[b] / v : v / target[b])
        }
        fl = ""; frac = "-"
        if (flo[b] == "rtt2") fl = 1e6 / (2 * rtt)
        if (flo[b] == "rtt1") fl = 1e6 / rtt
        if (flo[b] == "rtt2us") fl = 2 * rtt
        if (flo[b] == "memcpy") fl = mc
        if (flo[b] == "tcpbw") fl = tbw
        if (flo[b] == "exec2") fl = 2 * exe
        if (fl != "") frac = sprintf("%.3g", better[b] == "lo" ? fl / v : v / fl)
        printf "%-34s %12.6g %-9s %21s %9s %8s %9s %8s\n", b, v, unit[b], rng, tg, ratio, (fl == "" ? "-" : sprintf("%.4g", fl)), frac
    }
    print ""
    for (i = 1; i <= nwide; i++)
        printf "! %s: spread over 30 %% of its median (%s..%s around %s): a noisy figure, measure again\n", wide[i], lo[wide[i]], hi[wide[i]], val[wide[i]]
    if (nwide) print ""
    print "ratio: >= 1 meets the target. floor: the best this machine allows for that path:"
    print "  2 Unix-socket round trips per sync task/call (driver-node, node-worker), 1 per get,"
    print "  memcpy for put, loopback TCP bandwidth for cross-node, 2 fork+exec for start_head."
    print "  \"of floor\" is the fraction of that best reached (1 = at the floor)."
}' "$RES"
