# test_placement_groups.sh — placement groups on three nodes (127.0.0.1-3)
# plus a fourth started for rescheduling: tasks in bundles 0, 1 and any,
# RAY_EPG for a bad index and a removed group, remove twice, a running task
# killed by remove (RAY_EPG), a task waiting for its child in one bundle,
# a GPU bundle's CUDA_VISIBLE_DEVICES, a detached actor's group; PACK,
# STRICT_PACK, SPREAD, STRICT_SPREAD spread as they say; a gang of actors
# on three nodes, killed by remove along with the group's waiting task; a
# named group found from a task; an infeasible group times out, is listed
# as pending by `ray status` and warned about once in the driver's output;
# `ray status` shows reserved resources and `ray list placement-groups`
# the groups; a node holding a bundle dies and the bundle moves while the
# other bundle's actor keeps running.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_pg.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c D=$T/d
FLAGS=(--num-cpus 1 --heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" "${FLAGS[@]}" --resources 'ant=1' --num-gpus 1 >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=1' >/dev/null 2>&1
start_node "$C" 127.0.0.3 "127.0.0.1:$P" "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IA=$(idof "$A") IB=$(idof "$B") IC=$(idof "$C")
check "three nodes up" test -n "$IA" -a -n "$IB" -a -n "$IC"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.6   # every node has seen the others in the node table

submit() { local out=$1; shift; timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- "$@" >"$T/out.$out" 2>&1; }

submit basic basic
O=$T/out.basic
check_out "a group of two 1-CPU bundles is created on 1-CPU nodes" "$O" "^group created"
check_out "tasks run in bundle 0, bundle 1 and any bundle" "$O" "^tasks in bundles 0, 1 and any ran"
check_out "bundle index 5 of 2 is RAY_EPG from ray_call" "$O" "^bundle 5: RAY_EPG \(bundle index 5 out of range"
check_out "a zero-CPU task of bundle 0 runs on bundle 0's node" "$O" "^zero-CPU task ran on bundle 0's node"
check_out "a task waiting for its child in the same one-CPU bundle lends it the CPU" "$O" "^nested task in the same bundle: ran"
check_out "ray_pg_remove kills a task running in the group: RAY_EPG, not retried" "$O" "^running task after remove: RAY_EPG \(task nap was killed"
check_out "ray_pg_wait after ray_pg_remove is RAY_EPG" "$O" "^wait after remove: RAY_EPG"
check_out "removing twice is a no-op" "$O" "^remove again: RAY_OK"
check_out "a call in a removed group is RAY_EPG" "$O" "^call in removed group: RAY_EPG"
check_out "a malformed bundle is RAY_EINVAL naming it" "$O" "^bad bundle: RAY_EINVAL \(bundle 0 \"CPU=abc\""

for s in "STRICT_SPREAD 3 3" "SPREAD 3 3" "PACK 1 1" "STRICT_PACK 1 1"; do
    set -- $s
    submit "st_$1" strategy "$1" "$2"
    check_out "$1 of $2 one-CPU bundles on 1-CPU nodes uses $3 node(s)" "$T/out.st_$1" "^$1 nodes: $3 distinct"
done

submit gang gang
O=$T/out.gang
check_out "a gang of 3 actors (STRICT_SPREAD) lands on 3 nodes" "$O" "^gang of 3 actors on 3 nodes"
check_out "a task of the full group waits for room in it" "$O" "^a task in a full group waits: yes"
check_out "ray_pg_remove fails the group's waiting task with RAY_EPG" "$O" "^the waiting task after remove: RAY_EPG"
check_out "and kills its actors (calls get RAY_EACTOR)" "$O" "^actors dead after remove: 3"

timeout 120 "$RAY" submit --temp-dir "$A" "$ROOT/examples/build/job_gang.so" -- 3 STRICT_SPREAD 300000 \
    >"$T/out.example" 2>&1
check_out "examples/job_gang.c: a gang of 3 shards on 3 nodes sums correctly" "$T/out.example" \
    "^gang of 3 shards: sum 1..300000 = 45000150000 \(correct\)"
n=$(grep -o 'on node [0-9a-f]*' "$T/out.example" | sort -u | wc -l)
check "its shards ran on 3 different nodes ($n)" test "$n" -eq 3

submit gpu gpu
check_out "a 1-GPU task in a GPU bundle gets CUDA_VISIBLE_DEVICES" "$T/out.gpu" "^CUDA_VISIBLE_DEVICES in the bundle: 0$"

submit named named
O=$T/out.named
check_out "a second group with the same name is refused" "$O" "^duplicate name: RAY_EINVAL"
check_out "ray_pg_lookup finds a named group" "$O" "^lookup: RAY_OK, same id: yes"
check_out "an unknown name is RAY_ENOTFOUND" "$O" "^lookup unknown: RAY_ENOTFOUND"
check_out "a task looks the group up by name and runs in it" "$O" "^a task found the group by name and ran in it"
wait_for 10 sh -c "'$RAY' list placement-groups --format json | grep -q '\"trainers\".*REMOVED\\|REMOVED.*\"trainers\"'"
"$RAY" list placement-groups >"$T/list.named" 2>&1
check_out "the job's end removed its named group" "$T/list.named" "trainers +PACK +REMOVED"

submit listed listed "$RAY" "127.0.0.1:$P" "$A"
check_out "ray list placement-groups lists a group CREATED the moment ray_pg_wait returns" \
    "$T/out.listed" "^listed CREATED right after ray_pg_wait: 5 of 5"
check_out "... and REMOVED the moment ray_pg_remove returns" \
    "$T/out.listed" "^listed REMOVED right after ray_pg_remove: 5 of 5"

# a group made by a detached actor outlives the job, ends with the actor
submit detached detached
check_out "a detached actor makes a group" "$T/out.detached" "^keeper made its group"
sleep 1
"$RAY" list placement-groups >"$T/list.kept" 2>&1
check_out "the group outlives the job that made the actor" "$T/list.kept" "kept +PACK +CREATED"
submit kill_keeper kill_keeper
check_out "the detached actor is killed" "$T/out.kill_keeper" "^keeper killed: yes"
wait_for 15 sh -c "'$RAY' list placement-groups | grep -Eq 'kept +PACK +REMOVED'"
"$RAY" list placement-groups >"$T/list.kept2" 2>&1
check_out "and its group goes with it" "$T/list.kept2" "kept +PACK +REMOVED"

# an infeasible group: timeout, pending in ray status, one warning
(submit inf infeasible "$T/go.inf") &
job=$!
wait_for 30 grep -q '^ready' "$T/out.inf"
check_out "ray_pg_wait of an infeasible group is RAY_ETIMEOUT" "$T/out.inf" "^wait: RAY_ETIMEOUT"
"$RAY" status >"$T/status.inf" 2>&1
check_out "ray status lists it as a pending placement group" "$T/status.inf" "placement_group_[0-9a-f]{40} toobig: STRICT_SPREAD .* PENDING"
touch "$T/go.inf"
wait $job
check_out "the pending group is removed" "$T/out.inf" "^removed pending group: RAY_OK"
n=$(grep -c 'Warning: placement group .* toobig .* cannot be placed' "$T/out.inf")
check "the driver was warned exactly once ($n)" test "$n" -eq 1

# reserved resources in ray status, the group in ray list
(submit hold hold "$T/go.hold") &
job=$!
wait_for 30 grep -q '^ready' "$T/out.hold"
"$RAY" status >"$T/status.hold" 2>&1
check_out "ray status shows reserved resources in use" "$T/status.hold" "^ [0-9.]+/3.0 CPU \(1.0 used of 1.0 reserved in placement groups\)"
"$RAY" list placement-groups >"$T/list.hold" 2>&1
check_out "ray list placement-groups shows the group, its bundle and node" "$T/list.hold" "held +PACK +CREATED +CPU=1 +[0-9a-f]{40}"
touch "$T/go.hold"
wait $job

# rescheduling: bundle 0 needs 'ant' (the head), bundle 1 'bee' (B, and D
# once it joins); the node of bundle 1 dies
start_node "$D" 127.0.0.4 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=1' >/dev/null 2>&1
ID=$(idof "$D")
check "a fourth node joins" test -n "$ID"
sleep 0.6
(submit resched resched "$T/go.resched" ant bee) &
job=$!
wait_for 40 grep -q '^ready' "$T/out.resched"
old=$(sed -n 's/^bundle 1 on //p' "$T/out.resched")
victim=
[ "$old" = "$IB" ] && victim=$B
[ "$old" = "$ID" ] && victim=$D
check "bundle 1 (bee) is on B or D" test -n "$victim"
if [ -n "$victim" ]; then
    kill -9 "$(rayd_pid "$victim")"
fi
touch "$T/go.resched"
wait $job
new=$(sed -n 's/^bundle 1 now on //p' "$T/out.resched")
check "the dead node's bundle is rescheduled on the other bee node ($new)" test -n "$new" -a "$new" != "$old" -a "$new" != "(nowhere)"
check_out "the actor of the surviving bundle kept running (its count went on)" "$T/out.resched" "^the actor of bundle 0 kept running: count 2"

finish
