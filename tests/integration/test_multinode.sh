# test_multinode.sh — three nodes on one machine (127.0.0.1-3, separate temp
# dirs): custom resources and node:<ip> route tasks; half-second tasks
# submitted to a 1-CPU head spread over all nodes; an object made on one node
# is consumed on another and fetched by the driver; an actor placed on the
# third node is called from the head; a node killed mid-run leaves the job
# finishing with its tasks retried elsewhere.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c
FLAGS=(--num-cpus 1 --heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=1' >/dev/null 2>&1
start_node "$C" 127.0.0.3 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'sea=1' >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IA=$(idof "$A") IB=$(idof "$B") IC=$(idof "$C")
check "three nodes up" test -n "$IA" -a -n "$IB" -a -n "$IC"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.5   # every node has seen the others in the node table

submit() { local out=$1; shift; timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- "$@" >"$T/out.$out" 2>&1; }

submit custom where sea=1
check_out "a custom resource only C has routes the task to C" "$T/out.custom" "ran on $IC"
submit pin where node:127.0.0.2=0.01
check_out "node:127.0.0.2 pins the task to B" "$T/out.pin" "ran on $IB"

submit nested nested_route sea=1 bee=1
check_out "a task on C submits one only B can run: it spills from C to B" "$T/out.nested" "nested task ran on $IB"

submit spread spread 12 500
line=$(grep "tasks of 500 ms" "$T/out.spread")
echo "    $line"
secs=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
nodes=$(echo "$line" | sed -n 's/.* on \([0-9]*\) nodes.*/\1/p')
check "12 half-second tasks ran on all 3 nodes ($nodes)" test "${nodes:-0}" -eq 3
check "in about a third of the serial 6 s (${secs:-?} s)" awk -v s="${secs:-99}" 'BEGIN { exit !(s < 3.5) }'

submit transfer transfer bee=1 sea=1 8
check_out "object made on B, consumed on C, fetched by the driver intact" "$T/out.transfer" "fetched by the driver intact"
submit bigtransfer transfer bee=1 sea=1 100
check_out "a 100 MiB object crosses nodes intact" "$T/out.bigtransfer" "fetched by the driver intact"

submit actor actor_on sea=1
check_out "an actor placed on C is called from the head, in order" "$T/out.actor" "actor lives on $IC"
sleep 1 # the head's view of B and C has their last job's resources back
submit spread_actors actor_spread 3
check_out "three 1-CPU actors from a 1-CPU head spill to the other nodes" "$T/out.spread_actors" "^3 actors on 3 nodes"
check_out "a fourth waits, and starts once they are gone (never lost)" "$T/out.spread_actors" "^the extra actor started once the others were gone"
timeout 120 "$RAY" submit --temp-dir "$A" "$ROOT/build/jobs/job_xnode_actor.so" -- sea bee >"$T/out.xnode" 2>&1
check_out "an actor on C calls an actor on the head and gets its answer" "$T/out.xnode" "^actor relay from node B: success"
check_out "and so does a task on B" "$T/out.xnode" "^task relay from node B: success"

submit remoteprint print
check "output of tasks on other nodes reaches ray submit" grep -Eq '^\(say pid=[0-9]+ node=[0-9a-f]{8}\) hello from a task' "$T/out.remoteprint"

# kill B's rayd with SIGKILL while a job runs on all nodes
(submit survive survive 24 1000) &
job=$!
wait_for 20 grep -q submitted "$T/out.survive"
sleep 1.5
kill -9 "$(rayd_pid "$B")"
wait $job
rc=$?
check_out "the job finishes correctly after node B was SIGKILLed (rc=$rc)" "$T/out.survive" "all 24 tasks finished"
"$RAY" status >"$T/status" 2>&1
check "ray status shows B dead" bash -c "sed -n '/^Dead:/,/^Resources/p' '$T/status' | grep -q 'node_$IB'"

"$RAY" stop --temp-dir "$C" >/dev/null
"$RAY" stop --force --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
