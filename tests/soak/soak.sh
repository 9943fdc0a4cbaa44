#!/usr/bin/env bash
# soak.sh — the fault soak (issue 17; not part of `make test`): a head (no
# CPU: the work runs elsewhere, so node kills lose objects that must be
# rebuilt from their lineage) and two worker nodes on 127.0.0.1-3 run rounds of mixed work (job_lineage.so's
# "soak" scenario: 200 tasks with max_retries=-1, a chain of five 1 MiB
# values, ten calls to an actor with max_restarts=-1) while this script
# SIGKILLs a random worker process every KILL_EVERY seconds and a whole
# worker node every NODE_EVERY seconds (a replacement node joins at once).
# At the end it prints tasks run, faults injected, results lost or wrong
# (must be 0) and whether the CPUs came back to their totals within 30 s
# (must be yes), and exits non-zero if not.
#
#   make all testjobs && bash tests/soak/soak.sh [SECONDS]     (default 3600)
#
# Environment: KILL_EVERY (default 2), NODE_EVERY (default 20),
# SOAK_KEEP=1 keeps the temp dir (the job's output in out, every node's
# session and logs in head/ and node1/, node2/, ...). Every loss, wrong value
# and failed actor call is printed with its object ID. Nothing is left running.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RAY=$ROOT/bin/ray
JOB=$ROOT/build/jobs/job_lineage.so
SECS=${1:-3600}
KILL_EVERY=${KILL_EVERY:-2}
NODE_EVERY=${NODE_EVERY:-20}
[ -x "$RAY" ] && [ -f "$JOB" ] || { echo "soak: run 'make all testjobs' first" >&2; exit 2; }
T=$(mktemp -d /tmp/raysoak.XXXXXX)
export HOME=$T/home
mkdir -p "$HOME" "$T/d"
unset RAY_ADDRESS RAY_TOKEN
source "$ROOT/scripts/free_port.sh"
DIRS=()
cleanup() {
    local td
    for td in "${DIRS[@]}"; do "$RAY" stop --force --temp-dir "$td" >/dev/null 2>&1; done
    [ -n "${SOAK_KEEP:-}" ] && echo "soak: kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

P=$(free_port)
FLAGS=(--num-cpus 2 --heartbeat-interval-ms 200 --node-timeout-ms 2000 --object-store-memory 256MiB)
DIRS+=("$T/head")
"$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$T/head" "${FLAGS[@]}" --num-cpus 0 \
    >/dev/null 2>&1 || { echo "soak: head did not start" >&2; exit 1; }
export RAY_ADDRESS=127.0.0.1:$P
nodes=0
new_node() { # new_node IP: a worker node in a fresh temp dir, in $NEWDIR
    nodes=$((nodes + 1))
    NEWDIR=$T/node$nodes
    DIRS+=("$NEWDIR")
    "$RAY" start --address "127.0.0.1:$P" --node-ip-address "$1" --temp-dir "$NEWDIR" "${FLAGS[@]}" \
        >/dev/null 2>&1 || echo "soak: node $NEWDIR did not start" >&2
}
new_node 127.0.0.2; N2=$NEWDIR
new_node 127.0.0.3; N3=$NEWDIR
pid_of() { cat "$1"/session_latest/rayd.pid 2>/dev/null; }

echo "soak: $SECS s, a worker killed every $KILL_EVERY s, a node every $NODE_EVERY s"
timeout $((SECS + 900)) "$RAY" submit --temp-dir "$T/head" "$JOB" -- soak "$T/d" "$SECS" \
    >"$T/out" 2>&1 &
job=$!
wkills=0 nkills=0 start=$SECONDS last_node=$SECONDS victim=2
while kill -0 "$job" 2>/dev/null && [ $((SECONDS - start)) -lt "$SECS" ]; do
    sleep "$KILL_EVERY"
    w=$(for p in $(pid_of "$T/head") $(pid_of "$N2") $(pid_of "$N3"); do
            pgrep -P "$p" -f -- '--worker'
        done | shuf -n 1)
    [ -n "$w" ] && kill -9 "$w" 2>/dev/null && wkills=$((wkills + 1))
    if [ $((SECONDS - last_node)) -ge "$NODE_EVERY" ]; then
        last_node=$SECONDS
        if [ $victim -eq 2 ]; then
            kill -9 "$(pid_of "$N2")" 2>/dev/null && nkills=$((nkills + 1))
            new_node 127.0.0.2; N2=$NEWDIR
            victim=3
        else
            kill -9 "$(pid_of "$N3")" 2>/dev/null && nkills=$((nkills + 1))
            new_node 127.0.0.3; N3=$NEWDIR
            victim=2
        fi
    fi
done
touch "$T/d/stop"
wait "$job"
rc=$?
back=no
for _ in $(seq 150); do
    if "$RAY" status 2>/dev/null | grep -q '^ 0.0/4.0 CPU'; then back=yes; break; fi
    sleep 0.2
done
grep -E '^soak (LOST|WRONG|ACTOR) ' "$T/out"
tail -4 "$T/out"
echo "soak: $((SECONDS - start)) s, faults injected: $wkills worker kills, $nkills node kills;" \
     "job rc=$rc; resources back to their totals: $back"
logs() { cat "$T"/*/session_[0-9]*/logs/rayd*.log 2>/dev/null; }
echo "soak: from the nodes' logs: $(logs | grep -c 'is lost: rebuilding it by running task') lost values" \
     "rebuilt from lineage, $(logs | grep -c 'was on dead node .*: running it again') tasks run again" \
     "after their node died, $(logs | grep -c 'retrying$') after their worker died," \
     "$(logs | grep -cE 'warn.*object [0-9a-f]{40} is lost') RAY_ELOST"
grep '^soak total' "$T/out" >/dev/null || echo "soak: the job printed no total" >&2
[ $rc -eq 0 ] && [ "$back" = yes ]
