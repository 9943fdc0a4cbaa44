# test_tasks.sh — every semantic of SPEC section 2 against a real one-node
# cluster (2 CPUs, its own Redis), through `ray submit` of a job library.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
H=$T/head
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"
export RAY_ADDRESS=127.0.0.1:$P

# submit SCENARIO [ARGS]: run it; output in $T/out.SCENARIO
submit() {
    local sc=$1
    timeout 180 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$T/out.$sc" 2>&1
}
scenario() { # DESCRIPTION SCENARIO [ARGS]
    local d=$1; shift
    if submit "$@"; then ok "$d"; else fail "$d: $(tail -5 "$T/out.$1" | tr '\n' '|')"; fi
}

scenario "task results, argument types, refs and chains of refs" values
scenario "zero-copy get: same address twice; create/seal" zerocopy
scenario "wait with and without timeout" wait
scenario "errors carry their messages" errors
check "error message names the task" grep -q "task might_fail failed on node .*: Negative value -5" "$T/out.errors"
scenario "crash then retry succeeds; crash without retries names the signal; pool healthy" crash "$T/crash-marker"
check "RAY_EWORKER names signal 11" grep -q "signal 11" "$T/out.crash"
scenario "nested tasks: recursive fibonacci on 2 CPUs" nested
scenario "num_returns" returns
scenario "big objects: 64 MiB in, 32 MiB out" big
scenario "resource gating: parallel vs serial timing" resources
scenario "actor order, constructor args, named actors, handles, kill" actors
check "a killed actor's callers hear it was ray_actor_kill" grep -q "killed actor: actor counter .* was killed by ray_actor_kill: call read failed" "$T/out.actors"
scenario "actor restart after a crash, max_restarts, max_concurrency" restart
scenario "four threads submitting at once" threads
scenario "20,000 tasks in one job" many 20000
scenario "the client's value cache: 20,000 values kept, half freed, results pushed" cache 20000
scenario "one wait for 100,000 objects sealed while it waits answers at the last seal" wait_many 100000
grep -h "tasks in" "$T/out.many" | sed 's/^/    /'

submit detached make
check_out "a detached named actor is made" "$T/out.detached" "^detached actor made$"
submit detached use
check_out "it outlives its job and keeps its state" "$T/out.detached" "^detached actor outlived its job: 42$"
submit detached queued
check_out "a detached actor is asked for behind busy CPUs, then its job ends" "$T/out.detached" "^detached actor asked for"
submit detached queued_use
check_out "the job's end did not drop its queued creation: it is made and answers" "$T/out.detached" \
    "^detached actor queued at its job's end was made: 8$"

# task output reaches ray submit, prefixed with name, pid and node
submit print
check "task stdout reaches ray submit with its prefix" grep -Eq '^\(say pid=[0-9]+ node=[0-9a-f]{8}\) hello from a task: marker-1234$' "$T/out.print"
check "task stderr too" grep -Eq '^\(say pid=[0-9]+ node=[0-9a-f]{8}\) a line on stderr$' "$T/out.print"
check "driver output unprefixed" grep -q '^driver line$' "$T/out.print"
check "task output kept in the job log" bash -c "grep -q 'hello from a task' '$H'/session_latest/logs/job-*.log"

# exit status propagation
submit exit 7
check "ray submit exits with ray_main's value (7)" test $? -eq 7
submit exit 0
check "and with 0" test $? -eq 0

# infeasible demand: pending, listed by ray status, driver warned once
submit infeasible &
spid=$!
wait_for 10 grep -q "infeasible pending" "$T/out.infeasible"
sleep 1
"$RAY" status >"$T/status.inf" 2>&1
check "ray status lists the infeasible demand" grep -q "CPU=64.*infeasible" "$T/status.inf"
check "and the custom one" grep -q "unobtainium=1.*infeasible" "$T/status.inf"
wait $spid
check "infeasible job still finishes its feasible work" test $? -eq 0
check "driver warned once per infeasible shape" test "$(grep -c 'cannot be met by any node' "$T/out.infeasible")" -eq 2
check "of the CPU one" test "$(grep -c 'demand {CPU=64} .*cannot be met' "$T/out.infeasible")" -eq 1
check "and of the custom one" test "$(grep -c 'demand {.*unobtainium=1.*} .*cannot be met' "$T/out.infeasible")" -eq 1

# bad libraries
"$RAY" submit --temp-dir "$H" "$ROOT/build/jobs/job_no_main.so" >"$T/out.nomain" 2>&1
rc=$?
check "library without ray_main: non-zero exit ($rc)" test $rc -ne 0
check "library without ray_main: clear message" grep -q "no ray_main" "$T/out.nomain"

# the standalone driver (links -lray)
timeout 60 "$ROOT/examples/build/driver_standalone" "127.0.0.1:$P" "$ROOT/examples/build/job_squares.so" >"$T/out.standalone" 2>&1
check "standalone driver runs tasks ($(tail -1 "$T/out.standalone"))" grep -q "= 55" "$T/out.standalone"

# the examples
"$RAY" submit --temp-dir "$H" "$ROOT/examples/build/job_squares.so" -- 10 >"$T/out.sq" 2>&1
check "example squares" grep -q "sum of squares below 10: 285" "$T/out.sq"
"$RAY" submit --temp-dir "$H" "$ROOT/examples/build/job_counter.so" -- 5 >"$T/out.ctr" 2>&1
check "example counter" grep -q "counter after 5 increments from 100: 105" "$T/out.ctr"
"$RAY" submit --temp-dir "$H" "$ROOT/examples/build/job_pi.so" -- 200 1000 >"$T/out.pi" 2>&1
check "example pi" grep -q "pi is about 3.1" "$T/out.pi"

# GCS tables were written
"$RAY" list jobs --format json >"$T/jobs.json" 2>&1
check "ray list jobs shows the jobs" grep -q '"state": "FINISHED"' "$T/jobs.json"
check "node still alive after all jobs" pid_alive "$(rayd_pid "$H")"
# the task table while a job runs: 8 tasks of 1.5 s on 2 CPUs; records and
# state changes reach it within a second (runtime/taskrec.c)
timeout 60 "$RAY" submit --temp-dir "$H" "$JOB" -- spread 8 1500 >"$T/out.listed" 2>&1 &
lj=$!
sleep 2.5
"$RAY" list tasks --temp-dir "$H" --limit 100000 >"$T/list.tasks" 2>&1
# ended jobs' finished tasks stay in the table: count this (the newest) job's
newest=$(awk '$2 == "where" {print $4}' "$T/list.tasks" | sort | tail -1)
count() { awk -v j="$newest" -v s="$1" '$2 == "where" && $4 == j && $3 == s' "$T/list.tasks" | wc -l; }
running=$(count RUNNING)
pending=$(count PENDING)
finished=$(count FINISHED)
check "ray list tasks shows a running job's tasks (running $running, pending $pending, finished $finished)" \
    test $((running + finished)) -ge 1 -a $((running + pending + finished)) -eq 8
wait "$lj"
check "that job succeeds" test $? -eq 0

"$RAY" stop --temp-dir "$H" >/dev/null
finish
