#!/usr/bin/env bash
# head_restart.sh — head_restart_reconnect_s (issue 17): a head and a worker
# node on this machine (127.0.0.1, 127.0.0.2); RUNS times: kill -9 of the
# head's rayd and its redis-server, `ray start --head` again at once on the
# same port and temp dir, and the time from that start command to the worker
# node heartbeating into the restarted GCS again (its <p>hb entry newer than
# the restart), i.e. the whole outage as a user sees it after the restart
# command: Redis loading its AOF, the head registering, the node's next
# reconnect (back-off 50 ms doubling to 2 s), its re-registration.
# Prints one JSON line per figure, like bench/run.sh. Not part of CI.
#   BENCH_RUNS=N (default 5)   BENCH_DOWN_S=S seconds the head stays dead (default 0)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAY=$ROOT/bin/ray
RUNS=${BENCH_RUNS:-5}
DOWN=${BENCH_DOWN_S:-0}
T=$(mktemp -d /tmp/raybench.XXXXXX)
export HOME=$T/home
mkdir -p "$HOME"
source "$ROOT/scripts/free_port.sh"
P=$(free_port)
trap '"$RAY" stop --force --temp-dir "$T/w" >/dev/null 2>&1; "$RAY" stop --force --temp-dir "$T/h" >/dev/null 2>&1; rm -rf "$T"' EXIT
F=(--node-ip-address 127.0.0.1 --num-cpus 1 --object-store-memory 128MiB)
"$RAY" start --head --port "$P" --temp-dir "$T/h" "${F[@]}" >/dev/null || exit 1
"$RAY" start --address "127.0.0.1:$P" --node-ip-address 127.0.0.2 --temp-dir "$T/w" --num-cpus 1 \
    --object-store-memory 128MiB >/dev/null || exit 1
W=$(sed -n 's/^node_id=//p' "$T/w/session_latest/node.info")
HS=$(readlink -f "$T/h/session_latest")
TOKEN=$(cat "$HS/auth_token")
now_ms() { date +%s%3N; }
vals=()
for r in $(seq "$RUNS"); do
    kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
    sleep "$DOWN"
    t0=$(now_ms)
    "$RAY" start --head --port "$P" --temp-dir "$T/h" "${F[@]}" >/dev/null || { echo "restart failed" >&2; exit 1; }
    while :; do
        hb=$(redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning hget ray:default:hb "$W" 2>/dev/null | cut -f1)
        [ -n "$hb" ] && [ "$hb" -gt "$t0" ] 2>/dev/null && break
        [ $(($(now_ms) - t0)) -gt 60000 ] && { echo "node did not come back in 60 s" >&2; exit 1; }
        sleep 0.02
    done
    v=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
    echo "bench: run $r: $v s" >&2
    vals+=("$v")
    sleep 1
done
sorted=$(printf '%s\n' "${vals[@]}" | sort -n)
med=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
lo=$(echo "$sorted" | head -1) hi=$(echo "$sorted" | tail -1)
printf '{"name": "head_restart_reconnect_s", "median": %s, "min": %s, "max": %s, "runs": %d, "down_s": %s}\n' \
    "$med" "$lo" "$hi" "$RUNS" "$DOWN"
