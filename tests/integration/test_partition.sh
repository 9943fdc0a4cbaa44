# test_partition.sh — a network partition (SPEC section 7): two hosts in
# network namespaces joined to the head's by veth pairs on a bridge (as in
# test_netns). Halfway through 400 tasks with max_retries=-1, host 1's link
# is cut (`ip link set down`) for longer than the death timeout: the head
# declares it dead, its work is redone on host 2, every result is correct
# and there once. When the link comes back, host 1 hears it was declared
# dead, drops what it ran and rejoins as a new node, which takes work.
# Where namespaces are not permitted the test reports a skip (exit 77).
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
source "$(dirname "$0")/netns_pair.sh"
netns_pair test_partition 10.252.$((RANDOM % 200 + 20)) w
check "host 1 reaches the head's address" bash -c "ip netns exec '$NS1' ping -c1 -W2 '$NET.1' >/dev/null"

P=$(free_port)
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000 --object-store-memory 256MiB)
D=$T/d
mkdir -p "$D"
TEMP_DIRS+=("$T/h" "$T/n1" "$T/n2")
"$RAY" start --head --port "$P" --node-ip-address "$NET.1" --temp-dir "$T/h" --num-cpus 0 \
    "${FLAGS[@]}" >/dev/null 2>&1
check "head (no CPU) starts on $NET.1" test -f "$T/h/session_latest/rayd.pid"
ip netns exec "$NS1" "$RAY" start --address "$NET.1:$P" --node-ip-address "$NET.11" \
    --temp-dir "$T/n1" --num-cpus 2 "${FLAGS[@]}" --resources bee=1 >/dev/null 2>&1
check "host 1 joins from its namespace" test $? -eq 0
ip netns exec "$NS2" "$RAY" start --address "$NET.1:$P" --node-ip-address "$NET.12" \
    --temp-dir "$T/n2" --num-cpus 2 "${FLAGS[@]}" >/dev/null 2>&1
check "host 2 joins from its namespace" test $? -eq 0
I1=$(sed -n 's/^node_id=//p' "$T/n1/session_latest/node.info")
export RAY_ADDRESS=$NET.1:$P
sleep 0.5

timeout 200 "$RAY" submit --temp-dir "$T/h" "$JOB" -- tasks "$D" 400 50 >"$T/out.part" 2>&1 &
job=$!
wait_for 60 test -f "$D/half" || show_log "$T/out.part"
check "half of the 400 results are in" test -f "$D/half"
ip link set "w1$TAG" down
dead1() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -q "node_$I1"; }
t0=$SECONDS
check "host 1 is declared dead after its link was cut" wait_for 20 dead1
log "declared dead $((SECONDS - t0)) s after the cut"
sleep 1
ip link set "w1$TAG" up
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "all 400 results correct, each once" "$T/out.part" "^400 of 400 results correct"

# host 1 comes back as a new node (a new ID at the same address)
rejoined() {
    "$RAY" status 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep " $NET.11:" | grep -vq "node_$I1"
}
check "host 1 rejoins as a new node" wait_for 30 rejoined
check "and says why" bash -c "grep -q 'declared dead by the cluster' '$T'/n1/session_latest/logs/rayd.log"
I1B=$(sed -n 's/^node_id=//p' "$T/n1/session_latest/node.info")
check "its node.info names the new node" test -n "$I1B" -a "$I1B" != "$I1"
timeout 60 "$RAY" submit --temp-dir "$T/h" "$JOB" -- where bee=1 >"$T/out.where" 2>&1
log "$(cat "$T/out.where")"
check "the new node runs work (a task needing its resource)" grep -q "^ran on $I1B" "$T/out.where"
check "the old node is still listed dead" dead1

ip netns exec "$NS1" "$RAY" stop --temp-dir "$T/n1" >/dev/null 2>&1
ip netns exec "$NS2" "$RAY" stop --temp-dir "$T/n2" >/dev/null 2>&1
"$RAY" stop --temp-dir "$T/h" >/dev/null 2>&1
finish
