# test_observe.sh — what a user sees of a two-node cluster (head at
# 127.0.0.1, node B at 127.0.0.2 with resource side=1) through ray logs,
# ray timeline, ray memory and ray status -v: known lines of a task's stdout
# and stderr, a job's, an actor's, a node's own log, a task that ran on B
# fetched from B, --tail, --follow, a Chrome trace that parses with both
# nodes in it, a put object's size, a running task by name, and bad input
# answered in one line with a non-zero exit.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_observe.so
P=$(free_port)
A=$T/a B=$T/b
start_head "$A" "$P" --num-cpus 2 >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 --resources 'side=1' >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IA=$(idof "$A") IB=$(idof "$B")
check "two nodes up" test -n "$IA" -a -n "$IB"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.5

# one line on stderr, nothing on stdout, a non-zero exit
one_line_error() {
    local out=$T/err.out errf=$T/err.err
    "$RAY" "$@" >"$out" 2>"$errf" && return 1
    [ ! -s "$out" ] && [ "$(wc -l <"$errf")" -eq 1 ]
}

# ---- ray logs ------------------------------------------------------------------
timeout 60 "$RAY" submit "$JOB" -- print "$T/print.done" >"$T/out.print" 2>&1 &
SUB=$!
wait_for 30 grep -q '^actor ' "$T/out.print"
TASK=$(awk '/^task /{print $2}' "$T/out.print")
QUIET=$(awk '/^quiet /{print $2}' "$T/out.print")
ACTOR=$(awk '/^actor /{print $2}' "$T/out.print")
JOBID=${TASK:0:8}
check "the job printed its task and actor IDs" test -n "$TASK" -a -n "$ACTOR"

"$RAY" logs >"$T/logs.list" 2>&1
check "ray logs lists both nodes" bash -c "grep -q 'node $IA' '$T/logs.list' && grep -q 'node $IB' '$T/logs.list'"
check "ray logs groups rayd, redis, workers and jobs" bash -c \
    "grep -qx 'rayd:' '$T/logs.list' && grep -qx 'redis:' '$T/logs.list' && grep -qx 'workers:' '$T/logs.list' && grep -qx 'jobs:' '$T/logs.list'"
check "ray logs names the job's log file" grep -q "job-$JOBID.log" "$T/logs.list"

"$RAY" logs "$TASK" >"$T/logs.task" 2>&1
check "ray logs TASK prints the task's stdout lines, as printed" \
    bash -c "[ \"\$(cat '$T/logs.task')\" = \"\$(printf 'talker out line %s\n' 1 2 3 4 5)\" ]"
"$RAY" logs --err "$TASK" >"$T/logs.taskerr" 2>&1
check "ray logs --err TASK prints its stderr line only" bash -c "[ \"\$(cat '$T/logs.taskerr')\" = 'talker err line' ]"
"$RAY" logs "$TASK" --tail 2 >"$T/logs.tail" 2>&1
check "--tail 2 (after the ID) gives the last 2 lines" \
    bash -c "[ \"\$(cat '$T/logs.tail')\" = \"\$(printf 'talker out line %s\n' 4 5)\" ]"
"$RAY" logs "$QUIET" >"$T/logs.quiet" 2>&1
check "a task that printed nothing: no output, exit 0" test $? -eq 0 -a ! -s "$T/logs.quiet"
"$RAY" logs --err "$JOBID" >"$T/logs.joberr" 2>&1
check "ray logs --err JOB has the driver's and the task's stderr" \
    bash -c "grep -qx 'driver err line' '$T/logs.joberr' && grep -Eq '^\(talker pid=[0-9]+ node=[0-9a-f]{8}\) talker err line$' '$T/logs.joberr'"
"$RAY" logs "$JOBID" >"$T/logs.job" 2>&1
check "ray logs JOB has its stdout, not its stderr" \
    bash -c "grep -q 'talker out line 3' '$T/logs.job' && grep -qx 'task $TASK' '$T/logs.job' && ! grep -q 'err line' '$T/logs.job'"
"$RAY" logs "$ACTOR" >"$T/logs.actor" 2>&1
check "ray logs ACTOR prints what its methods printed" \
    bash -c "[ \"\$(cat '$T/logs.actor')\" = \"\$(printf 'parrot says %s\n' 1 2 3)\" ]"
"$RAY" logs --tail 50 "$IB" >"$T/logs.node" 2>&1
check "ray logs NODE prints that node's own rayd log" grep -q "node $IB registered" "$T/logs.node"
touch "$T/print.done"
wait $SUB
check "the print job succeeded" test $? -eq 0

timeout 60 "$RAY" submit "$JOB" -- remote >"$T/out.remote" 2>&1
RTASK=$(awk '/^task /{print $2}' "$T/out.remote")
sleep 1.2 # the task table has its record (held back up to a second)
"$RAY" logs "$RTASK" >"$T/logs.remote" 2>&1
check "a task that ran on node B: its line is fetched from B" grep -qx "side task line on $IB" "$T/logs.remote"

# --follow streams a line printed later
timeout 60 "$RAY" submit "$JOB" -- follow "$T/follow.go" >"$T/out.follow" 2>&1 &
SUB=$!
wait_for 30 grep -q '^task ' "$T/out.follow"
FTASK=$(awk '/^task /{print $2}' "$T/out.follow")
timeout 30 "$RAY" logs --follow "$FTASK" >"$T/logs.follow" 2>&1 &
FOL=$!
wait_for 15 grep -qx 'early line' "$T/logs.follow"
check "--follow prints what is there" grep -qx 'early line' "$T/logs.follow"
check "... and not yet the late line" bash -c "! grep -q 'late line' '$T/logs.follow'"
touch "$T/follow.go"
wait_for 15 grep -qx 'late line' "$T/logs.follow"
check "--follow streams a line printed later" grep -qx 'late line' "$T/logs.follow"
kill "$FOL" 2>/dev/null
wait "$SUB"

check "ray logs with an unknown ID: one line, non-zero exit" one_line_error logs ffffffff00000000000000000000000000000000
check "... it says so" grep -q "no job, actor, task or node with ID" "$T/err.err"
check "ray logs with a bad flag: one line, non-zero exit" one_line_error logs --bogus "$TASK"
check "ray logs --tail without a number: one line, non-zero exit" one_line_error logs --tail x "$TASK"
check "ray logs of something not an ID: one line, non-zero exit" one_line_error logs not-an-id
check "ray logs of an unknown job: one line, non-zero exit" one_line_error logs 0000abcd

# ---- ray memory and ray status -v ------------------------------------------------------
timeout 90 "$RAY" submit "$JOB" -- hold "$T/hold.done" >"$T/out.hold" 2>&1 &
SUB=$!
wait_for 30 grep -q '^put ' "$T/out.hold"
PUT=$(awk '/^put /{print $2}' "$T/out.hold")
wait_for 10 bash -c "'$RAY' status -v | grep -q ' slow_task'"
"$RAY" memory >"$T/memory" 2>&1
check "ray memory lists the put object with its size and call site" \
    grep -Eq "^ $PUT +1048576 B +shared memory +[0-9]+ +[A-Z_]+ +put " "$T/memory"
check "ray memory has a total per node" bash -c "grep -q 'Total on node ${IA:0:8}:' '$T/memory' && grep -q 'Total on node ${IB:0:8}:' '$T/memory'"
"$RAY" memory --group-by job --sort-by size >"$T/memory.job" 2>&1
check "ray memory --group-by job --sort-by size groups by job" grep -q "^======== job ${PUT:0:8}: " "$T/memory.job"
check "ray memory with a bad --group-by: one line, non-zero exit" one_line_error memory --group-by colour
"$RAY" status -v >"$T/status.v" 2>&1
check "ray status -v lists the running task by name" grep -Eq '^   1 slow_task$' "$T/status.v"
check "ray status -v has an activity block per node" bash -c "[ \$(grep -c '^  Running tasks:' '$T/status.v') -eq 2 ]"
check "... below the node's usage" bash -c "grep -A6 '^node_$IA' '$T/status.v' | grep -q '^ Activity:'"
check "ray status -v counts the node's objects and bytes" grep -q '^  Objects: [1-9][0-9]* (1.00MiB in shared memory' "$T/status.v"
touch "$T/hold.done"
wait "$SUB"

# ---- ray timeline -----------------------------------------------------------------
timeout 120 "$RAY" submit "$JOB" -- many 300 >"$T/out.many" 2>&1
check "300 tiny tasks ran" grep -q 'ran 300 tasks' "$T/out.many"
MJOB=$(timeout 10 "$RAY" list jobs --format json 2>/dev/null | python3 -c 'import json,sys; print(sorted(j["job_id"] for j in json.load(sys.stdin))[-1])' 2>/dev/null)
cat >"$T/tl.py" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list), "not an array"
x = [e for e in d if e["ph"] == "X"]
m = [e for e in d if e["ph"] == "M"]
for e in x:
    for k in ("cat", "name", "pid", "tid", "ts", "dur", "args"):
        assert k in e, (k, e)
    # the job: job_id, or the first 8 hex digits of task_id (never both)
    assert ("job_id" in e["args"]) != ("task_id" in e["args"]), e
    # the attempt is known to the node only: its fetch_args spans carry it
    assert ("attempt" in e["args"]) == e["cat"].endswith(":fetch_args"), e
tiny = [e for e in x if e["name"] == "tiny" and e["cat"] == "task:execute"]
assert len(tiny) >= 330, ("execute spans of tiny", len(tiny))
assert all(len(e["args"]["task_id"]) == 40 for e in tiny)
sub = [e for e in x if e["name"] == "tiny" and e["cat"] == "task:submit"]
assert len(sub) == 340, ("submit spans", len(sub))
assert len([e for e in x if e["name"] == "tiny" and e["cat"] == "task:store_outputs"]) >= 330
assert [e for e in x if e["name"] == "tiny" and e["cat"] == "task:fetch_args"], "no fetch-argument span"
assert [e for e in x if e["name"] == "speak" and e["cat"] == "actor_call:execute"], "no actor call"
for api in ("ray_get", "ray_wait", "ray_put"):
    assert [e for e in x if e["name"] == api], "no " + api
procs = {e["pid"]: e["args"]["name"] for e in m if e["name"] == "process_name"}
assert len(procs) == 2, procs
assert {e["pid"] for e in tiny} == set(procs), "tiny ran on both nodes"
threads = {(e["pid"], e["tid"]) for e in m if e["name"] == "thread_name"}
assert all((e["pid"], e["tid"]) in threads for e in x), "every span's thread is named"
assert len({e["tid"] for e in tiny}) >= 2, "one thread per worker"
print("ok", len(x), "spans")
EOF
# a worker's last batch of spans reaches its node within a few ms of its
# last task, and the node appends to the GCS at most 100 ms later: on a
# loaded machine, later still, so read until the job's spans are all there
tl_ready() { "$RAY" timeline -o "$T/tl.json" >"$T/tl.out" 2>&1 && python3 "$T/tl.py" "$T/tl.json" >/dev/null 2>&1; }
wait_for 20 tl_ready
check "ray timeline writes a file and says how many events" grep -q "events written to $T/tl.json" "$T/tl.out"
check "the trace parses: X spans with names, pids, tids, args; both nodes; workers as threads" python3 "$T/tl.py" "$T/tl.json"
"$RAY" timeline -o - --limit 10 >"$T/tl10.json" 2>&1
check "--limit 10 keeps 10 spans" python3 -c "import json,sys; d=json.load(open('$T/tl10.json')); assert len([e for e in d if e['ph']=='X'])==10"
"$RAY" timeline -o - --job "$MJOB" >"$T/tlj.json" 2>&1
check "--job keeps that job's spans only" python3 -c "import json,sys; d=json.load(open('$T/tlj.json')); x=[e for e in d if e['ph']=='X']; assert x and all(e['args'].get('job_id', e['args'].get('task_id', '')[:8])=='$MJOB' for e in x)"
check "ray timeline with a bad flag: one line, non-zero exit" one_line_error timeline --bogus
check "ray timeline --limit 0: one line, non-zero exit" one_line_error timeline --limit 0

finish
