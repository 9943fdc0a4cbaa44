# test_loop_io.sh — the node's event loop never blocks on a disk or a fork
# (issue 9): strace follows the loop thread of a head (its main thread: tid
# = pid) while a job with a working_dir runs tasks and an actor that print
# on stdout and stderr, `ray logs` reads the task's, the job's and the
# listing, /metrics is scraped, and a standalone driver sends its library
# (JOB_LIBRARY). On that
# thread there must be no open, no write to a file (sockets, pipes and
# eventfds are fine), no rename/unlink/mkdir, and no fork/clone/exec: the
# helper thread (daemon/bio.c) does them. What the user sees is checked too
# (the job's output, ray logs' lines), and the trace must show the loop's
# own socket writes, so a trace that saw nothing cannot pass.
source "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "  skipped: no strace"; exit 0; }

JOB=$ROOT/build/jobs/job_observe.so
P=$(free_port)
H=$T/h
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
PID=$(rayd_pid "$H")
check "head up" test -n "$PID"
export RAY_ADDRESS=127.0.0.1:$P

# the loop thread only (no -f: the helper thread and the children are not
# traced); -y names each descriptor's file
TR=$T/loop.trace
strace -qq -y -p "$PID" -o "$TR" \
    -e trace=open,openat,creat,write,writev,pwrite64,pwritev,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,fork,vfork,clone,clone3,execve &
SP=$!
# attached once the loop's answer to a CLI request shows in the trace
wait_for 20 bash -c "'$RAY' status >/dev/null 2>&1; grep -q 'socket:' '$TR'"
check "strace follows the loop thread" grep -q 'socket:' "$TR"

WD=$T/wd
mkdir -p "$WD"
echo "payload" >"$WD/data.txt"
timeout 90 "$RAY" submit --temp-dir "$H" --working-dir "$WD" "$JOB" -- print "$T/print.done" \
    >"$T/out.print" 2>&1 &
SUB=$!
wait_for 60 grep -q '^actor ' "$T/out.print"
TASK=$(awk '/^task /{print $2}' "$T/out.print")
JOBID=${TASK:0:8}
check "the job ran its task and actor" test -n "$TASK" -a -n "$(awk '/^actor /{print $2}' "$T/out.print")"
# (not `ray logs TASK`: under strace the loop is slow enough that a task's
# first lines may be read after its TASK_DONE, untagged; test_observe has it)
timeout 30 "$RAY" logs "$JOBID" >"$T/logs.job" 2>&1
check "ray logs JOB: the task's lines, read after they were written" \
    bash -c "[ \"\$(grep -o 'talker out line [0-9]' '$T/logs.job')\" = \"\$(printf 'talker out line %s\n' 1 2 3 4 5)\" ]"
timeout 30 "$RAY" logs --err "$JOBID" >"$T/logs.joberr" 2>&1
check "ray logs --err JOB: the driver's stderr line" grep -qx 'driver err line' "$T/logs.joberr"
timeout 30 "$RAY" logs >"$T/logs.list" 2>&1
check "ray logs lists the job's log file" grep -q "job-$JOBID.log" "$T/logs.list"
# /metrics: its /proc figures are read on the helper, the answer comes after
MP=$(sed -n 's/^metrics_port=//p' "$H"/session_latest/node.info)
TOK=$(cat "$H"/session_latest/auth_token)
curl -s -m 20 -H "Authorization: Bearer $TOK" "http://127.0.0.1:$MP/metrics" >"$T/metrics.out"
check "/metrics answers with the workers' memory and the machine's CPU" bash -c \
    "grep -Eq '^ray_component_rss_bytes\{Component=\"workers\",NodeId=\"[0-9a-f]+\"\} [1-9][0-9]*$' '$T/metrics.out' && grep -q '^ray_node_cpu_utilization' '$T/metrics.out'"
touch "$T/print.done"
wait $SUB
check "the job finished (exit 0)" test $? -eq 0
check "its log file was written by the time ray submit returned" \
    grep -q "^actor " "$H/session_latest/logs/job-$JOBID.log"
timeout 60 "$ROOT/examples/build/driver_standalone" "127.0.0.1:$P" \
    "$ROOT/examples/build/job_squares.so" >"$T/out.standalone" 2>&1
check "a standalone driver's library is stored and its tasks run" grep -q "= 55" "$T/out.standalone"

kill -INT "$SP" 2>/dev/null
wait "$SP" 2>/dev/null

# what the loop thread did that it must not
grep -E '^(open|openat|creat|rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|fork|vfork|clone|clone3|execve)\(' "$TR" \
    >"$T/bad.calls"
grep -E '^(write|writev|pwrite64|pwritev)\([0-9]+</' "$TR" >>"$T/bad.calls"
check "the loop thread made socket writes (the trace saw it work)" \
    bash -c "[ \$(grep -c '^write.*socket:' '$TR') -gt 10 ]"
check "no open, file write, rename, unlink, mkdir, fork or exec on the loop thread" \
    test ! -s "$T/bad.calls"
[ -s "$T/bad.calls" ] && head -20 "$T/bad.calls" | sed 's/^/      | /'
finish
