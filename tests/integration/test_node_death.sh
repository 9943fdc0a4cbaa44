# test_node_death.sh — node death at scale (SPEC section 7): a head with no
# CPU and eight 1-CPU nodes run 600 tasks with max_retries=-1; halfway, four
# nodes are SIGKILLed at once. The death watch declares all four dead
# within node_timeout_ms (2 s here) plus a margin, their queued and running
# tasks go to the other nodes (all 600 results correct), and the cluster's
# CPU total is that of the nodes left, all free again at the end.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
D=$T/d
mkdir -p "$D"
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000 --object-store-memory 64MiB)
start_head "$T/h" "$P" --num-cpus 0 "${FLAGS[@]}" >/dev/null 2>&1
NODES=()
for i in 2 3 4 5 6 7 8 9; do
    start_node "$T/n$i" "127.0.0.$i" "127.0.0.1:$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1 &
    NODES+=("$T/n$i")
    TEMP_DIRS+=("$T/n$i") # started in the background: record them here too
done
wait
export RAY_ADDRESS=127.0.0.1:$P
nalive() { "$RAY" status 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' 1 node_'; }
all_up() { test "$(nalive)" -eq 9; }
check "nine nodes up" wait_for 20 all_up
sleep 0.5

timeout 200 "$RAY" submit --temp-dir "$T/h" "$JOB" -- tasks "$D" 600 40 >"$T/out.die" 2>&1 &
job=$!
wait_for 60 test -f "$D/half" || show_log "$T/out.die"
check "half of the 600 results are in" test -f "$D/half"
for td in "${NODES[@]:0:4}"; do kill -9 "$(rayd_pid "$td")"; done
t0=$(date +%s%N)
ndead() { "$RAY" status 2>/dev/null | sed -n '/^Dead:/,/^Resources/p' | grep -c ' 1 node_'; }
four_dead() { test "$(ndead)" -eq 4; }
wait_for 30 four_dead
ms=$((($(date +%s%N) - t0) / 1000000))
check "the four killed nodes are declared dead within 4 s ($ms ms)" test "$(ndead)" -eq 4 -a "$ms" -le 4000
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "all 600 results correct" "$T/out.die" "^600 of 600 results correct"
back() { "$RAY" status 2>/dev/null | grep -q '^ 0.0/4.0 CPU'; }
check "CPU total is the four nodes left, all free again" wait_for 30 back
finish
