# test_netns.sh — the core multi-node scenario on separate hosts: two network
# namespaces joined to the head's namespace by veth pairs on a bridge, each
# node with its own address. Then one link is cut (`ip link set down`) and
# the head declares that node dead. Where namespaces are not permitted the
# test reports a skip (exit 77), not a pass.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
source "$(dirname "$0")/netns_pair.sh"
netns_pair test_netns 10.251.$((RANDOM % 200 + 20)) v
check "host 1 reaches the head's address" bash -c "ip netns exec '$NS1' ping -c1 -W2 '$NET.1' >/dev/null"
check "host 2 reaches host 1" bash -c "ip netns exec '$NS2' ping -c1 -W2 '$NET.11' >/dev/null"

P=$(free_port)
FLAGS=(--num-cpus 1 --heartbeat-interval-ms 200 --node-timeout-ms 2000 --object-store-memory 256MiB)
TEMP_DIRS+=("$T/h" "$T/n1" "$T/n2")
"$RAY" start --head --port "$P" --node-ip-address "$NET.1" --temp-dir "$T/h" "${FLAGS[@]}" >/dev/null 2>&1
check "head starts on $NET.1" test -f "$T/h/session_latest/rayd.pid"
ip netns exec "$NS1" "$RAY" start --address "$NET.1:$P" --node-ip-address "$NET.11" \
    --temp-dir "$T/n1" "${FLAGS[@]}" --resources bee=1 >/dev/null 2>&1
check "host 1 joins from its namespace" test $? -eq 0
ip netns exec "$NS2" "$RAY" start --address "$NET.1:$P" --node-ip-address "$NET.12" \
    --temp-dir "$T/n2" "${FLAGS[@]}" --resources sea=1 >/dev/null 2>&1
check "host 2 joins from its namespace" test $? -eq 0
I2=$(sed -n 's/^node_id=//p' "$T/n2/session_latest/node.info")
I1=$(sed -n 's/^node_id=//p' "$T/n1/session_latest/node.info")
export RAY_ADDRESS=$NET.1:$P
sleep 0.5
submit() { local out=$1; shift; timeout 120 "$RAY" submit --temp-dir "$T/h" "$JOB" -- "$@" >"$T/out.$out" 2>&1; }
submit where where sea=1
check_out "a task needing host 2's resource runs on host 2" "$T/out.where" "ran on $I2"
submit transfer transfer bee=1 sea=1 16
check_out "an object made on host 1 is consumed on host 2 and fetched by the driver" "$T/out.transfer" "intact"
submit actor actor_on bee=1
check_out "an actor on host 1 is called from the head" "$T/out.actor" "actor lives on $I1"

# cut host 1's link: the head declares it dead within the timeout
ip link set "v1$TAG" down
dead1() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -q "node_$I1"; }
t0=$SECONDS
wait_for 15 dead1
check "host 1 declared dead after its link was cut ($((SECONDS - t0)) s)" dead1
submit after where sea=1
check_out "the cluster still runs work on host 2" "$T/out.after" "ran on $I2"
finish
