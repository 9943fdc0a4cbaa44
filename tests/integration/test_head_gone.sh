# test_head_gone.sh — a head that never comes back: a worker node keeps
# trying to reach the GCS for gcs_reconnect_timeout_ms (3 s here; 60 s by
# default), then exits with one clear log line, its workers and actors with
# it, leaving nothing running (docs/restart.md).
source "$(dirname "$0")/lib.sh"

LIB=$ROOT/build/jobs/job_restart.so
DRV=$ROOT/build/tools/restart_driver
P=$(free_port)
H=$T/head W=$T/w
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$H" "$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 --resources 'wnode=1' "${FLAGS[@]}" \
    --gcs-reconnect-timeout-ms 3000 >/dev/null 2>&1
check "two nodes up" test $? -eq 0
WSOCK="unix:$W/session_latest/sockets/raylet.sock"
timeout 60 "$DRV" "$WSOCK" "$LIB" create gone wnode=1 >"$T/out.create" 2>&1
check_out "an actor on the worker node" "$T/out.create" "^created value=1$"
WPID=$(rayd_pid "$W")
WS=$(readlink -f "$W/session_latest")
kids=$(ps -o pid= --ppid "$WPID" | tr -d ' ' | tr '\n' ' ')
check "its workers run (${kids:-none})" test -n "$kids"

HS=$(readlink -f "$H/session_latest")
kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
t0=$SECONDS
check "the worker node exits by itself" wait_for 30 bash -c "! kill -0 $WPID 2>/dev/null || ps -o stat= -p $WPID | grep -q Z"
took=$((SECONDS - t0))
check "after the 3 s bound, not before, nor much later ($took s)" test "$took" -ge 3 -a "$took" -le 20
check_out "with a clear line" "$WS/logs/rayd.log" "GCS at 127\.0\.0\.1:$P unreachable for [0-9]+ s \(bound 3 s: gcs_reconnect_timeout_ms\): the head or its Redis did not come back; this node exits"
check_out "and stops as a node does" "$WS/logs/rayd.log" "stopping: GCS unreachable"
gone() { local p; for p in $kids; do pid_alive "$p" && return 1; done; return 0; }
check "its workers are gone too" wait_for 10 gone
finish
