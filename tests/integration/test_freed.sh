# test_freed.sh — a freed object answers at once, on every node: ray_get
# (with a timeout and forever) and ray_get_all give RAY_ENOTFOUND naming
# the object and saying it was freed, ray_wait counts it ready, a task given
# it as an argument fails at once naming the task and the object, a task's
# own ray_get of it and a get already waiting for it are answered at once;
# an object that is only not made yet still waits. On one node alone too.
# Each get in "waitfree" needs an object put just as the task on the other
# node asks for it: the object manager's read of the locations races its
# subscription, and must not wait forever when it loses.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_objects.so
P=$(free_port)
A=$T/a B=$T/b
FLAGS=(--num-cpus 2 --heartbeat-interval-ms 200 --node-timeout-ms 3000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P

timeout 100 "$RAY" submit --temp-dir "$A" "$JOB" -- freed >"$T/out1" 2>&1
rc=$?
check "one node: freed objects answer at once (rc=$rc): $(tail -1 "$T/out1")" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$T/out1"

start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=2' >/dev/null 2>&1
sleep 0.5
timeout 100 "$RAY" submit --temp-dir "$A" "$JOB" -- freed bee=1 >"$T/out2" 2>&1
rc=$?
check "two nodes: freed objects answer at once on both (rc=$rc): $(tail -1 "$T/out2")" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$T/out2"
check_out "a task given a freed object fails naming it, on the other node too" "$T/out2" \
    "freed argument on another node: task size_of cannot run: its argument object [0-9a-f]{40} was freed"

timeout 100 "$RAY" submit --temp-dir "$A" "$JOB" -- waitfree 10 bee=1 >"$T/out3" 2>&1
rc=$?
check "ten gets waiting on the other node for objects freed meanwhile are answered (rc=$rc)" test $rc -eq 0
[ $rc -eq 0 ] || tail -3 "$T/out3"

"$RAY" stop --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
