# test_lineage_free.sh — lineage freed with its objects, and one rebuild
# for many waiters (docs/faults.md "Lineage"). A driver on a head with no
# CPU has 20 values made on node B: its ray_lineage_bytes (/metrics) falls
# when it frees half of them, while the job runs; B is killed and replaced:
# the kept half is rebuilt (each task runs once more), the freed half is
# never run again. Then one value made on B2 is lost with it while three
# tasks on node W and the driver all wait for it: its task runs exactly
# once more.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c W=$T/w C2=$T/c2 D=$T/d E=$T/e
mkdir -p "$D" "$E"
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" --num-cpus 0 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources 'b=4' "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IB=$(idof "$B")
check "head (no CPU) and node B up" test -n "$IB"
export RAY_ADDRESS=127.0.0.1:$P
TOK=$(cat "$A"/session_latest/auth_token)
MA=$(sed -n 's/^metrics_port=//p' "$A"/session_latest/node.info)
metric() {
    curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$MA/metrics" |
        sed -n "s/^$1{[^}]*} \([0-9]*\)$/\1/p" | head -1
}
dead() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -q "node_$1"; }
runs() { local f=$D/runs.$1; [ -f "$f" ] && wc -l <"$f" || echo 0; }

# ---- lineage goes with the objects it made
timeout 200 "$RAY" submit --temp-dir "$A" "$JOB" -- freed "$D" 20 1 >"$T/out.freed" 2>&1 &
job=$!
check "20 values made on B" wait_for 90 test -f "$D/made"
B1=$(metric ray_lineage_bytes) E1=$(metric ray_lineage_entries)
check "the head keeps their lineage ($E1 entries, $B1 bytes on /metrics)" test "${E1:-0}" -ge 20 -a "${B1:-0}" -gt 0
touch "$D/go1"
check "the driver freed 10 of them" wait_for 30 test -f "$D/freed"
fell() { [ "$(metric ray_lineage_entries)" -eq $((E1 - 10)) ]; }
check "their lineage goes at the free, while the job runs" wait_for 10 fell
B2=$(metric ray_lineage_bytes)
check "ray_lineage_bytes falls ($B1 -> $B2)" test "${B2:-0}" -lt "${B1:-0}" -a "${B2:-0}" -gt 0
kill -9 "$(rayd_pid "$B")"
start_node "$C" 127.0.0.3 "127.0.0.1:$P" --num-cpus 2 --resources 'b=4' "${FLAGS[@]}" >/dev/null 2>&1
check "replacement node C joins" test -n "$(idof "$C")"
check "B is declared dead" wait_for 30 dead "$IB"
touch "$D/go2"
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "the kept half is rebuilt intact, the freed half is gone" "$T/out.freed" \
    "^kept 10 of 10 rebuilt intact, 10 freed values not got$"
freed_runs=0 kept_runs=0
for i in $(seq 0 9); do freed_runs=$((freed_runs + $(runs "f$i"))); done
for i in $(seq 10 19); do kept_runs=$((kept_runs + $(runs "f$i"))); done
check "a freed-then-lost value is not rebuilt: its 10 tasks ran once each ($freed_runs runs)" \
    test "$freed_runs" -eq 10
check "each kept value's task ran exactly once more ($kept_runs runs for 10)" test "$kept_runs" -eq 20
check "the ended job's lineage is gone too" wait_for 10 bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOK' http://127.0.0.1:$MA/metrics | sed -n 's/^ray_lineage_entries{[^}]*} //p')\" = 0 ]"

# ---- four waiters on one lost object: one rebuild
start_node "$W" 127.0.0.4 "127.0.0.1:$P" --num-cpus 3 --resources 'w=3' "${FLAGS[@]}" >/dev/null 2>&1
check "node W up" test -n "$(idof "$W")"
IC=$(idof "$C")
timeout 200 "$RAY" submit --temp-dir "$A" "$JOB" -- waiters "$E" 4 >"$T/out.waiters" 2>&1 &
job=$!
check "the value is made on C" wait_for 60 test -f "$E/submitted"
kill -9 "$(rayd_pid "$C")"
check "C is declared dead" wait_for 30 dead "$IC"
start_node "$C2" 127.0.0.5 "127.0.0.1:$P" --num-cpus 2 --resources 'b=4' "${FLAGS[@]}" >/dev/null 2>&1
check "replacement node C2 joins" test -n "$(idof "$C2")"
touch "$E/go"
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "three tasks and the driver all got the rebuilt value" "$T/out.waiters" "^waiters 4 of 4 got the value$"
n=$(wc -l <"$E/runs.w")
check "its task ran exactly once more for all four waiters ($n runs)" test "$n" -eq 2
finish
