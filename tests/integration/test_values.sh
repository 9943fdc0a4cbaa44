# test_values.sh — bad call options are refused in the caller and bad
# requests are answered by the node, both without losing the connection;
# lists and maps travel through objects, tasks and actors.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_values.so
P=$(free_port)
H=$T/head
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"
export RAY_ADDRESS=127.0.0.1:$P
sock="$H/session_latest/sockets/raylet.sock"

scenario() { # DESCRIPTION SCENARIO [ARGS]
    local d=$1 sc=$2
    shift
    if timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$T/out.$sc" 2>&1; then ok "$d"
    else fail "$d: $(tail -5 "$T/out.$sc" | tr '\n' '|')"; fi
}

scenario "malformed resources and amounts: RAY_EINVAL in the caller, the job goes on" bad_resources
check_out "the message names the bad part" "$T/out.bad_resources" \
    "resources \"foo=abc\": amount of 'foo' is not a number"

scenario "lists and maps: put/get, task arguments and returns, refs inside, big, actors" lists
check_out "ray.put([1, 2, 3, 4, 5]) comes back" "$T/out.lists" "put/get \[1, 2, 3, 4, 5\]: ok"
check_out "big lists are zero copy" "$T/out.lists" "100,000-element list .* ok"

# requests ray_call would never send, straight to the node
timeout 60 "$ROOT/build/tools/raw_peer" "unix:$sock" "$ROOT/build/jobs/job_semantics.so" >"$T/out.raw" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "bad TASK_SUBMIT / ACTOR_CALL / ACTOR_CREATE answered, connection kept"
else fail "raw peer (rc $rc): $(grep -E 'FAIL|raw_peer' "$T/out.raw" | tr '\n' '|')"; fi
check_out "an actor call delivered twice runs once (the worker refuses the repeat)" "$T/out.raw" \
    "ok   the next call counts 2: the repeat did not run"
check_out "the node logged what it refused" "$H/session_latest/logs/rayd_head.log" "refused TASK_SUBMIT from"
check "node still alive" kill -0 "$(rayd_pid "$H")"

"$RAY" stop --temp-dir "$H" >/dev/null
finish
