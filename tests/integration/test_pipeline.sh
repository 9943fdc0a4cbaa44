# test_pipeline.sh — tasks sent ahead to a busy worker (pipelining) on a
# 1-CPU node: a nested job whose parents block in ray_get must not deadlock
# behind them (the node recalls what it sent ahead), and a burst of tasks
# all finish with their results.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
start_head "$T/h" "$P" --num-cpus 1 >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P
for i in 1 2 3; do
    timeout 60 "$RAY" submit --temp-dir "$T/h" "$JOB" -- nested >"$T/out.$i" 2>&1
    check_out "recursive fibonacci on 1 CPU, run $i" "$T/out.$i" "^fib\\(10\\) = 55$"
done
timeout 60 "$RAY" submit --temp-dir "$T/h" "$JOB" -- many 5000 >"$T/out.many" 2>&1
check_out "5,000 tasks on 1 CPU" "$T/out.many" "^5000 tasks in"
timeout 60 "$RAY" submit --temp-dir "$T/h" "$JOB" -- errors >"$T/out.err" 2>&1
check_out "errors still reach the caller" "$T/out.err" "^errors ok$"
"$RAY" stop --temp-dir "$T/h" >/dev/null
finish
