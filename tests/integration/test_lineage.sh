# test_lineage.sh — lineage reconstruction (SPEC section 7, "Lineage"): a
# driver on a head with no CPU has four 10 MiB values and a chain of 20
# 10 MiB steps made on node B; B is killed with SIGKILL and a replacement C
# joins; the driver's gets rebuild every value (and the chain, step by step)
# on C. A put object made on B and a value of a max_retries=0 task give
# RAY_ELOST naming the object, node B and the reason, as does the 10 MiB
# result of an actor call made on B. Of two actors that
# lived on B, the one with max_restarts=1 restarts on C; the other is dead.
# Then with a small lineage_max_bytes the oldest lineage is trimmed (logged)
# and a lost value whose spec went is RAY_ELOST "lineage was trimmed".
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c D=$T/d
mkdir -p "$D"
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" --num-cpus 0 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 4 "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IB=$(idof "$B")
check "head (no CPU) and node B up" test -n "$IB"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.5

timeout 200 "$RAY" submit --temp-dir "$A" "$JOB" -- lost "$D" 10 4 20 >"$T/out.lost" 2>&1 &
job=$!
markers() { [ -f "$D/submitted" ] && [ "$(ls "$D" | grep -c '^m\.')" -ge 27 ]; }
check "every value is made on B (27 markers)" wait_for 90 markers
sleep 1.5 # the last results are sealed, and B has written their tasks' ends
          # (held back up to a second) to the task table
kill -9 "$(rayd_pid "$B")"
start_node "$C" 127.0.0.3 "127.0.0.1:$P" --num-cpus 4 "${FLAGS[@]}" >/dev/null 2>&1
IC=$(idof "$C")
check "replacement node C joins" test -n "$IC"
dead() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -q "node_$IB"; }
check "B is declared dead" wait_for 30 dead
touch "$D/go"
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "four lost 10 MiB values are rebuilt intact" "$T/out.lost" "^4 of 4 lost values rebuilt intact"
check_out "the chain of 20 is rebuilt, step by step" "$T/out.lost" "^chain of 20 rebuilt: its end has counter 19"
check_out "a lost put object gives RAY_ELOST naming it, node B and the reason" "$T/out.lost" \
    "^put object: .*lost.*: object [0-9a-f]{40} is lost: node ${IB:0:8} that held it died, and it was made by ray_put"
check_out "a lost max_retries=0 value gives RAY_ELOST: retries used up" "$T/out.lost" \
    "^max_retries=0 value: .*lost.*: object [0-9a-f]{40} is lost: node ${IB:0:8} that held it died, and task big cannot run again: its retries are used up"
check_out "a lost actor call's big result gives RAY_ELOST: actor calls are not run again" "$T/out.lost" \
    "^actor call result: .*lost.*: object [0-9a-f]{40} is lost: node ${IB:0:8} that held it died, and it is an actor call's result"
check_out "an actor with max_restarts=1 on the dead node restarts elsewhere" "$T/out.lost" \
    "^actor with max_restarts=1 after its node died: restarted elsewhere, answers \(counter 1,"
check_out "an actor with max_restarts=0 on the dead node is dead: RAY_EACTOR" "$T/out.lost" \
    "^actor with max_restarts=0 after its node died: actor (is )?dead"
grep '^lineage_rebuild_10mb_ms' "$T/out.lost" | sed 's/^/    /'
# a task whose end B had not written to the task table yet (records are
# held back up to a second) is run again as "was on dead node", the others
# as "rebuilding": each exactly once either way
nreb=$(cat "$A"/session_latest/logs/rayd*.log |
    grep -cE 'is lost: rebuilding it by running task|was on dead node .*: running it again')
check "each of the 24 lost values' tasks ran again exactly once ($nreb)" test "$nreb" -eq 24

"$RAY" stop --temp-dir "$C" >/dev/null
"$RAY" stop --force --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null

# a lineage budget that keeps only the last few task specs: the oldest are
# forgotten (logged); a lost value whose spec went is RAY_ELOST, the newest
# is rebuilt
P=$(free_port)
A=$T/a2 B=$T/b2 C=$T/c2 D=$T/d2
mkdir -p "$D"
start_head "$A" "$P" --num-cpus 0 --lineage-max-bytes 4KiB "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 "${FLAGS[@]}" >/dev/null 2>&1
IB=$(idof "$B")
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.5
timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- trim "$D" 1 30 >"$T/out.trim" 2>&1 &
job=$!
tmarkers() { [ -f "$D/submitted" ] && [ "$(ls "$D" | grep -c '^m\.')" -ge 30 ]; }
check "30 values made on B" wait_for 60 tmarkers
sleep 0.5
kill -9 "$(rayd_pid "$B")"
start_node "$C" 127.0.0.3 "127.0.0.1:$P" --num-cpus 2 "${FLAGS[@]}" >/dev/null 2>&1
check "B is declared dead" wait_for 30 dead
touch "$D/go"
wait $job
check_out "a value whose lineage the budget trimmed is RAY_ELOST: lineage trimmed" "$T/out.trim" \
    "^first value: .*lost.*: object [0-9a-f]{40} is lost: node ${IB:0:8} that held it died, and its lineage was trimmed"
check_out "the newest value is rebuilt" "$T/out.trim" "^last value: rebuilt intact"
check "the trimming is logged" bash -c "grep -q 'lineage over lineage_max_bytes' '$A'/session_latest/logs/rayd*.log"
"$RAY" stop --temp-dir "$C" >/dev/null
"$RAY" stop --force --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
