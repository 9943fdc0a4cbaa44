# test_shared_actors.sh — actors that share a worker process
# (ray_opts.share_worker, docs/actors-shared.md), on a real cluster through
# `ray submit` of tests/integration/jobs/job_shared_actors.c: 70 shared
# counters fill one process (64) and start a second, hold separate state and
# run their calls in order; `ray list actors` shows the hosted ones with one
# pid, and an actor without the option gets a process of its own; `ray logs
# ACTOR` gives each shared actor its own lines; killing one frees its state
# and leaves the others answering from the same process; a call that
# segfaults kills every actor of its process, each restarted or not per its
# own max_restarts; share_worker with a GPU, max_concurrency > 1 or detached
# is refused with one clear error; shared actors placed on another node (a
# custom resource) share a process there and are killed from the head.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_shared_actors.so
H=$T/head
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"

# ---- 70 counters: state, order, pids, logs, kill ------------------------------
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- basic 70 "$T/ids" >"$T/basic.out" 2>&1
rc=$?
check "basic scenario exits 0 (rc=$rc)" test $rc -eq 0
check_out "each counter kept its own state and call order" "$T/basic.out" \
    "^70 shared counters: 40 calls each, in order, separate state$"
check_out "70 shared actors fill two processes (64 at most each)" "$T/basic.out" \
    "^70 shared counters in 2 worker process\(es\)$"
check_out "an actor without share_worker gets a process of its own" "$T/basic.out" \
    "^an actor without share_worker has a process of its own$"
check_out "a shared actor waits for another of its process (no deadlock)" "$T/basic.out" \
    "^a shared actor waited for another of its process: 2040$"
check_out "the killed actor's calls fail with its death" "$T/basic.out" \
    "^killed counter: actor counter [0-9a-f]{8} is dead: was killed by ray_actor_kill"
check_out "the killed actor's state was freed (its free function ran)" "$T/basic.out" \
    "\(counter pid=[0-9]+ node=[0-9a-f]{8}\) freed counter 1000$"
check_out "the other counters answer from the same process" "$T/basic.out" \
    "^the other 69 counters answer from the same process$"
check_out "a call running at the kill fails and stays failed after its late answer" \
    "$T/basic.out" "^a call running when its actor was killed failed, and stays failed$"
check_out "a kill with restart constructs it again" "$T/basic.out" \
    "^killed with restart: constructed again, state 500$"
check_out "basic scenario ends" "$T/basic.out" "^basic ok$"

# `ray list actors`: every shared actor with the pid its methods reported
"$RAY" list actors --temp-dir "$H" --format json >"$T/actors.json" 2>&1
listed=0
while read -r id pid; do
    grep -q "\"actor_id\": \"$id\".*\"pid\": $pid}" "$T/actors.json" && listed=$((listed + 1))
done <"$T/ids"
check "ray list actors shows the 70 shared actors with their process's pid ($listed)" \
    test "$listed" -eq 70
pids=$(awk '{print $2}' "$T/ids" | sort -u | wc -l)
check "the 70 shared actors have 2 distinct pids in ray list actors ($pids)" test "$pids" -eq 2
first=$(awk 'NR == 1 {print $2}' "$T/ids")
same=$(awk -v p="$first" '$2 == p' "$T/ids" | wc -l)
check "64 of them share the first process ($same)" test "$same" -eq 64

# `ray logs ACTOR`: only that actor's lines, though its process hosts 63 others
id2=$(sed -n 2p "$T/ids" | cut -d' ' -f1)
"$RAY" logs --temp-dir "$H" "$id2" >"$T/logs2.out" 2>&1
"$RAY" logs --temp-dir "$H" --err "$id2" >"$T/logs2.err" 2>&1
check_out "ray logs of a shared actor has its stdout line" "$T/logs2.out" "^counter 2000 says hi$"
check "ray logs of a shared actor has no other actor's lines" \
    test "$(grep -c 'says hi' "$T/logs2.out")" -eq 1
check_out "ray logs --err of a shared actor has its stderr line" "$T/logs2.err" "^counter 2000 warns$"
check "ray logs --err of a shared actor has no other actor's lines" \
    test "$(grep -c 'warns' "$T/logs2.err")" -eq 1

# the timeline: every call of the shared actors, on the rows of their 2 processes
cat >"$T/tl.py" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
pids = {l.split()[1] for l in open(sys.argv[2])}
rows = {e["tid"]: e["args"]["name"] for e in d if e["ph"] == "M" and e["name"] == "thread_name"}
incr = [e for e in d if e["ph"] == "X" and e["cat"] == "actor_call:execute" and e["name"] == "incr"]
assert len(incr) >= 70 * 40 + 1, len(incr)
assert len({e["args"]["task_id"] for e in incr}) == len(incr), "one span per call"
shared = [e for e in incr if rows.get(e["tid"], "").split()[-1] in pids]
assert len(shared) >= 70 * 40, ("spans on the hosts' rows", len(shared))
EOF
tl_ready() { "$RAY" timeline --temp-dir "$H" -o "$T/tl.json" >/dev/null 2>&1 && python3 "$T/tl.py" "$T/tl.json" "$T/ids"; }
wait_for 20 tl_ready
check "ray timeline has every shared actor's calls, on their processes' rows" tl_ready

# ---- a crash kills every hosted actor; each restarts per its max_restarts -----
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- crash >"$T/crash.out" 2>&1
rc=$?
check "crash scenario exits 0 (rc=$rc)" test $rc -eq 0
check_out "4 shared actors in one process" "$T/crash.out" "^4 shared counters in pid [0-9]+$"
check_out "the crashing call fails naming the signal" "$T/crash.out" \
    "^the crashing call failed: .*killed by signal 11"
check_out "an actor with max_restarts 1 restarts in a new process, state started over" \
    "$T/crash.out" "^counter 1 \(max_restarts 1\) restarted in pid [0-9]+, state 200$"
check_out "an actor with max_restarts 0 is dead with the process" "$T/crash.out" \
    "^counter 3 \(max_restarts 0\) is dead: .*died: its worker killed by signal 11"
check_out "crash scenario ends" "$T/crash.out" "^crash ok$"

# ---- bad input: one clear error each -------------------------------------------
timeout 60 "$RAY" submit --temp-dir "$H" "$JOB" -- bad >"$T/bad.out" 2>&1
rc=$?
check "bad-input scenario exits 0 (rc=$rc)" test $rc -eq 0
check_out "share_worker with a GPU is refused" "$T/bad.out" \
    "^refused: actor counter: share_worker cannot be given with num_gpus 1: a GPU actor gets a worker process of its own$"
check_out "share_worker with max_concurrency 4 is refused" "$T/bad.out" \
    "^refused: actor counter: share_worker needs max_concurrency 1 \(got 4\)"
check_out "share_worker with detached is refused" "$T/bad.out" \
    "^refused: actor counter: share_worker cannot be given with detached"
check_out "bad-input scenario ends" "$T/bad.out" "^bad ok$"
check "the node survived it all" pid_alive "$(rayd_pid "$H")"

# ---- on another node: placed there by a resource, killed from here -----------
N2=$T/n2
start_node "$N2" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 --resources 'far=100' >/dev/null 2>&1
check "a second node with the resource far" test -f "$N2/session_latest/rayd.pid"
wait_for 10 bash -c "'$RAY' status --temp-dir '$H' 2>/dev/null | grep -q 'far'"
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- far 8 >"$T/far.out" 2>&1
rc=$?
check "far scenario exits 0 (rc=$rc)" test $rc -eq 0
check_out "8 shared actors placed on the other node share one process there" "$T/far.out" \
    "^8 far counters in pid [0-9]+$"
fpid=$(sed -n 's/^8 far counters in pid //p' "$T/far.out")
n2id=$(sed -n 's/^node_id=//p' "$N2/session_latest/node.info")
check_out "that process is the other node's (its output names the node)" "$T/far.out" \
    "^\(counter pid=${fpid:-x} node=${n2id:0:8}\) freed counter 10$"
check_out "killed from the head, one ends; the others answer" "$T/far.out" "^far ok$"
finish
