#!/usr/bin/env bash
# cluster_scale.sh — the cluster_100_nodes_* benchmarks (issue 16): one head
# and N-1 more rayd nodes on this machine (127.0.0.2.., --num-cpus 1, 32 MiB
# stores), then what it costs and how fast it is:
#   cluster_100_nodes_join_s           all N `ray start`s (8 at a time) until
#                                      `ray status` counts N nodes
#   cluster_100_nodes_status_s         one `ray status`
#   cluster_100_nodes_head_rss_mb      the head rayd's RSS, the cluster idle
#   cluster_100_nodes_redis_mb         Redis used_memory
#   cluster_100_nodes_gcs_cmds_per_node_s
#                                      Redis commands processed per node per
#                                      second over 10 s of an idle cluster
#   cluster_100_nodes_tasks_per_s      10,000 tasks of the pi job submitted on
#                                      the head (1 CPU): they spill over the
#                                      cluster; with the number of nodes that
#                                      ran some in "nodes_used"
# Prints one JSON line each on stdout; progress on stderr. Run by bench/run.sh
# (BENCH_ONLY=cluster_100_nodes_join_s); BENCH_NODES=N changes N (default 100).
# Usage: cluster_scale.sh RAY TMPDIR
set -u
RAY=$1 T=$2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_NODES:-100}
source "$ROOT/scripts/free_port.sh"
say() { printf 'bench: %s\n' "$*" >&2; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
json() { printf '{"benchmark": "%s", "value": %s, "unit": "%s"%s}\n' "$1" "$2" "$3" "${4:-}"; }

S=$T/scale
mkdir -p "$S"
DIRS=()
stop_all() {
    local d
    for d in "${DIRS[@]}"; do "$RAY" stop --force --temp-dir "$d" >/dev/null 2>&1 & done
    wait
}
trap stop_all EXIT

P=$(free_port)
H=$S/head
DIRS+=("$H")
FLAGS=(--num-cpus 1 --object-store-memory 32MiB)
if ! "$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" "${FLAGS[@]}" \
    >"$S/head.out" 2>&1; then
    say "head did not start: $(tail -1 "$S/head.out")"
    json cluster_100_nodes_join_s null s ', "note": "head did not start"'
    exit 0
fi
ADDR=127.0.0.1:$P
HEAD_PID=$(cat "$H/session_latest/rayd.pid")
TOKEN=$(cat "$H/session_latest/auth_token")
rcli() { redis-cli -h 127.0.0.1 -p "$P" --no-auth-warning -a "$TOKEN" "$@"; }
nodes_up() { "$RAY" status --temp-dir "$H" 2>/dev/null | grep -c '^node_'; }

say "cluster_100_nodes: starting $((N - 1)) nodes beside the head"
t0=$(ms_now)
for i in $(seq 2 "$N"); do
    d=$S/n$i
    DIRS+=("$d")
    "$RAY" start --address "$ADDR" --node-ip-address "127.0.0.$i" --temp-dir "$d" "${FLAGS[@]}" \
        >"$S/n$i.out" 2>&1 &
    [ $((i % 8)) -eq 0 ] && wait
done
wait
up=0
for _ in $(seq 1 600); do
    up=$(nodes_up)
    [ "$up" -ge "$N" ] && break
    sleep 0.1
done
t1=$(ms_now)
if [ "$up" -lt "$N" ]; then
    json cluster_100_nodes_join_s null s ", \"note\": \"only $up of $N nodes joined in 60 s\""
else
    json cluster_100_nodes_join_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')" s \
        ", \"nodes\": $N"
fi

sleep 3 # let the joins settle
s0=$(ms_now)
"$RAY" status --temp-dir "$H" >"$S/status.out" 2>&1
s1=$(ms_now)
json cluster_100_nodes_status_s "$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" s

json cluster_100_nodes_head_rss_mb \
    "$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$HEAD_PID/status")" MiB
json cluster_100_nodes_redis_mb \
    "$(rcli info memory | awk -F: '$1 == "used_memory" { printf "%.1f", $2 / 1048576 }')" MiB

cmdcalls() { rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1 \2/p' | sort; }
cmdcalls >"$S/cmds0"
c0=$(rcli info stats | awk -F: '$1 == "total_commands_processed" { print $2 + 0 }')
sleep 10
c1=$(rcli info stats | awk -F: '$1 == "total_commands_processed" { print $2 + 0 }')
cmdcalls >"$S/cmds1"
# the idle window's commands by name (the most first)
join -a2 -e0 -o 0,1.2,2.2 "$S/cmds0" "$S/cmds1" | awk '$3 > $2 { print $3 - $2, $1 }' | sort -rn |
    head -6 | sed 's/^/bench:   idle 10 s: /' >&2
json cluster_100_nodes_gcs_cmds_per_node_s \
    "$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { printf "%.2f", (b - a - 2) / 10 / n }')" "cmds/s"

JOB=$ROOT/examples/build/job_pi.so
if [ -f "$JOB" ]; then
    "$RAY" submit --temp-dir "$H" "$JOB" -- 10000 200 >"$S/pi.out" 2>&1
    rate=$(grep -o '[0-9.]* tasks/s' "$S/pi.out" | awk '{ print $1 }')
    used=$("$RAY" list tasks --temp-dir "$H" --format json --limit 20000 2>/dev/null |
        grep -o '"node": *"[0-9a-f]*"' | sort -u | wc -l)
    json cluster_100_nodes_tasks_per_s "${rate:-null}" "tasks/s" ", \"tasks\": 10000, \"nodes_used\": $used"
else
    json cluster_100_nodes_tasks_per_s null "tasks/s" ', "note": "examples/build/job_pi.so missing"'
fi
