#!/usr/bin/env bash
# test_lost_before_death.sh — a waiter that finds an object's holder gone
# before the head has declared that holder dead does not give up on it
# (objmgr's lost_later, docs/faults.md "Soak"). A driver on a head with no
# CPU has a 4 MiB value made on node C; C is SIGKILLed and at once three
# tasks on node W ask for the value (the driver does not: the owner has no
# waiter of its own that would rebuild it at once). W cannot reach C, but C
# is declared dead only node_timeout_ms (6 s) later, and only then does the
# owner (the head) rebuild what C held, on the replacement C2. W must wait
# for that: before the fix it stored RAY_ELOST ("no live node could rebuild
# it") within 2-3 s, that error became the object (recorded in the object
# table), and the three tasks all failed with it: the 1-hour
# soak's lost chains.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
A=$T/a C=$T/c W=$T/w C2=$T/c2 E=$T/e
mkdir -p "$E"
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 6000)
start_head "$A" "$P" --num-cpus 0 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$C" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources 'b=4' "${FLAGS[@]}" >/dev/null 2>&1
start_node "$W" 127.0.0.3 "127.0.0.1:$P" --num-cpus 3 --resources 'w=3' "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IC=$(idof "$C")
check "head (no CPU), C and W up" test -n "$(idof "$A")" -a -n "$IC" -a -n "$(idof "$W")"
export RAY_ADDRESS=127.0.0.1:$P
dead() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -q "node_$1"; }

timeout 150 "$RAY" submit --temp-dir "$A" "$JOB" -- far_waiters "$E" 4 >"$T/out" 2>&1 &
job=$!
check "the value is made on C" wait_for 60 test -f "$E/submitted"
kill -9 "$(rayd_pid "$C")"
touch "$E/go" # the waiters start now, C still alive in everyone's view
start_node "$C2" 127.0.0.4 "127.0.0.1:$P" --num-cpus 2 --resources 'b=4' "${FLAGS[@]}" >/dev/null 2>&1
check "replacement node C2 joins" test -n "$(idof "$C2")"
check "C is declared dead (after node_timeout_ms)" wait_for 30 dead "$IC"
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "the three tasks on W all got the rebuilt value" "$T/out" "^waiters 3 of 3 got the value$"
nelost=$(cat "$W"/session_latest/logs/rayd*.log | grep -c 'is lost: node .* no live node could rebuild it')
check "W stored no RAY_ELOST for it ($nelost)" test "$nelost" -eq 0
"$RAY" stop --temp-dir "$C2" >/dev/null
"$RAY" stop --temp-dir "$W" >/dev/null
"$RAY" stop --force --temp-dir "$C" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
