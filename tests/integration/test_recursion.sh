# test_recursion.sh — trees of nested tasks with thousands of blocked
# ancestors finish on 1-CPU and 2-CPU nodes with few worker processes
# (SPEC section 2: "recursive tasks never deadlock a small node"), and a
# worker cap that holds work back says so in `ray status` and to the driver.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_recursion.so

# worker processes of the node under TEMPDIR (its children)
nworkers() { ps -o stat=,args= --ppid "$(rayd_pid "$1")" | awk '$1 !~ /^Z/ && /--worker/' | wc -l; }

# run TEMPDIR DESC ARGS...: submit, and check it succeeds; the most worker
# processes seen meanwhile land in $T/peak
run() {
    local td=$1 d=$2; shift 2
    local out=$T/out.$$.$RANDOM
    timeout 120 "$RAY" submit --temp-dir "$td" "$JOB" -- "$@" >"$out" 2>&1 &
    local pid=$! peak=0 n
    while kill -0 $pid 2>/dev/null; do
        n=$(nworkers "$td")
        [ "$n" -gt "$peak" ] && peak=$n
        sleep 0.2
    done
    echo "$peak" >"$T/peak"
    if wait $pid; then
        ok "$d ($(head -1 "$out"), at most $peak worker processes)"
    else
        fail "$d: $(tail -3 "$out" | tr '\n' '|')"
    fi
}
# most worker processes the last run saw
peak() { cat "$T/peak"; }

for cpus in 1 2; do
    H=$T/head$cpus
    P=$(free_port)
    start_head "$H" "$P" --num-cpus $cpus >/dev/null 2>&1
    check "$cpus-CPU head starts" test -f "$H/session_latest/rayd.pid"
    run "$H" "$cpus CPU: a chain of 2,000 nested tasks (2,000 blocked ancestors)" chain 2000
    check "$cpus CPU: in a few worker processes (not one per blocked task)" test "$(peak)" -le 12
    run "$H" "$cpus CPU: fib(15) by nested tasks" fib 15
    check "$cpus CPU: in a few worker processes (not one per blocked task)" test "$(peak)" -le 12
    run "$H" "$cpus CPU: 40 chains of 50 at once" wide 40
    check "$cpus CPU: in a few worker processes (not one per blocked task)" test "$(peak)" -le 12
    "$RAY" stop --temp-dir "$H" >/dev/null 2>&1
done

# a node whose cap is one worker process: a chain still finishes (nested in
# that one process); an actor holding it makes a task wait, visibly
H=$T/capped
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 --max-workers 1 >/dev/null 2>&1
check "head with --max-workers 1 starts" test -f "$H/session_latest/rayd.pid"
run "$H" "max_workers 1: a chain of 3,000 nested tasks" chain 3000
check "no cap warning where nothing waited for the cap" bash -c "! grep -q 'runs its cap' '$T'/out.*"
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- cap >"$T/out.cap" 2>&1 &
spid=$!
wait_for 30 grep -q "task behind the cap: waits" "$T/out.cap"
"$RAY" status --temp-dir "$H" >"$T/status.cap" 2>&1
check_out "ray status shows the task waiting for a worker at the cap" "$T/status.cap" \
    "pending \(no worker: node [0-9a-f]{8} runs its cap of 1 worker processes\)"
wait $spid
check "the capped job ends well once the actor is gone" test $? -eq 0
check_out "the driver was told of the cap" "$T/out.cap" "Warning: node [0-9a-f]{8} runs its cap of 1 worker processes"
check "and told once" test "$(grep -c 'runs its cap of' "$T/out.cap")" -eq 1
"$RAY" stop --temp-dir "$H" >/dev/null 2>&1

# actors past the cap: pending with their reason in `ray list actors` and
# `ray status`, the driver told once, and they start as room frees
H=$T/capped3
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 --max-workers 3 >/dev/null 2>&1
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- actors 5 3 >"$T/out.actors" 2>&1 &
spid=$!
wait_for 30 grep -q "actors answered" "$T/out.actors"
check_out "3 of 5 actors run on a node capped at 3 workers" "$T/out.actors" "^3 of 5 actors answered"
sleep 1.2
"$RAY" list actors --temp-dir "$H" --format json >"$T/actors.json" 2>&1
check "ray list actors gives the 2 waiting actors their reason" \
    test "$(grep -o '"pending_reason": *"no worker: node [0-9a-f]\{8\} runs its cap of 3 worker processes"' "$T/actors.json" | wc -l)" -eq 2
"$RAY" status --temp-dir "$H" >"$T/status.actors" 2>&1
check_out "ray status shows them pending at the cap" "$T/status.actors" "2 pending \(no worker: node [0-9a-f]{8} runs its cap of 3"
wait $spid
check "they start once others are killed" test $? -eq 0
check "the driver was told once" test "$(grep -c 'runs its cap of 3' "$T/out.actors")" -eq 1
"$RAY" list actors --temp-dir "$H" --format json >"$T/actors2.json" 2>&1
check "no reason is left once they run" bash -c "! grep -q 'runs its cap' '$T/actors2.json'"

finish
