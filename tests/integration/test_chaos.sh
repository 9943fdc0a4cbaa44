# test_chaos.sh — nothing is lost under chaos (SPEC section 7): on a
# two-node cluster a worker process is SIGKILLed every 100 ms while a job
# runs 20,000 tasks (2 ms each) with max_retries=-1 and calls an actor with
# max_restarts=-1: every result is present and correct, the actor answers
# at the end, and the resources are back to their totals within 30 s. Then
# a node is SIGKILLed halfway through 500 tasks: all 500 are correct.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c D=$T/d
mkdir -p "$D"
FLAGS=(--num-cpus 2 --heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P
check "two nodes up" test -n "$(rayd_pid "$B")"
sleep 0.5

# the workers of both nodes (children of their rayd that run --worker)
workers() {
    local p
    for p in $(rayd_pid "$A") $(rayd_pid "$B"); do
        pgrep -P "$p" -f -- '--worker' 2>/dev/null
    done
}
killer() { # kill a random worker every 100 ms until $D/done (at most 240 s)
    local n=0 end=$((SECONDS + 240)) w
    while [ ! -f "$D/done" ] && [ $SECONDS -lt $end ]; do
        w=$(workers | shuf -n 1)
        if [ -n "$w" ] && kill -9 "$w" 2>/dev/null; then n=$((n + 1)); fi
        sleep 0.1
    done
    echo "$n" >"$D/kills"
}

# a worker killed after its task's 8 MiB return reached the node, before
# it said it was done: the retry replaces what the first attempt made
timeout 60 "$RAY" submit --temp-dir "$A" "$JOB" -- retry_big "$D" >"$T/out.retry" 2>&1
check_out "a task whose worker died after its big return is retried and its value arrives" \
    "$T/out.retry" "^retried after its worker died past its return: value intact"

timeout 280 "$RAY" submit --temp-dir "$A" "$JOB" -- chaos "$D" 20000 2 >"$T/out.chaos" 2>&1 &
job=$!
wait_for 60 test -f "$D/submitted"
killer &
kpid=$!
wait $job
rc=$?
touch "$D/done"
wait $kpid
kills=$(cat "$D/kills" 2>/dev/null || echo 0)
log "$kills workers killed; $(grep 'results correct' "$T/out.chaos")"
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check "workers were killed all along (${kills})" test "${kills:-0}" -ge 30
check_out "all 20,000 results present and correct" "$T/out.chaos" "^20000 of 20000 results correct"
check_out "the actor with max_restarts=-1 answers at the end" "$T/out.chaos" "^actor with max_restarts=-1: answers"
check_out "its calls during the run answered or failed with RAY_EACTOR, nothing else" "$T/out.chaos" \
    "^actor calls during the run: [0-9]+ answered, [0-9]+ failed with RAY_EACTOR, 0 other"
restarts=$(cat "$A"/session_latest/logs/rayd*.log "$B"/session_latest/logs/rayd*.log | grep -c 'actor counter .*; restart')
check "the actor was killed and restarted under the killing ($restarts)" test "$restarts" -ge 1
back() { "$RAY" status 2>/dev/null | grep -q '^ 0.0/4.0 CPU'; }
check "resources are back to their totals within 30 s" wait_for 30 back

# a node killed halfway through 500 tasks
start_node "$C" 127.0.0.3 "127.0.0.1:$P" "${FLAGS[@]}" >/dev/null 2>&1
sleep 0.5
rm -f "$D"/submitted "$D"/half "$D"/done
timeout 200 "$RAY" submit --temp-dir "$A" "$JOB" -- tasks "$D" 500 30 >"$T/out.half" 2>&1 &
job=$!
check "half of the 500 results are in" wait_for 60 test -f "$D/half"
kill -9 "$(rayd_pid "$B")"
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
check_out "all 500 results correct after node B was SIGKILLed" "$T/out.half" "^500 of 500 results correct"
back2() { "$RAY" status 2>/dev/null | grep -q '^ 0.0/4.0 CPU'; }
check "resources of the live nodes are back to their totals" wait_for 30 back2

"$RAY" stop --temp-dir "$C" >/dev/null
"$RAY" stop --force --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
