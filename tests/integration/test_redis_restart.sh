# test_redis_restart.sh — the GCS's Redis dies (kill -9) under a live
# cluster. Embedded: the head starts its redis-server again by itself with
# the same config, every node reconnects, a driver's calls and tasks go on
# through the outage, and what a node wrote just before the crash (within
# appendfsync's second) is written again by its owner. External
# (--gcs-address): the nodes wait for it and carry on once it is back; then
# the head is killed and started again on that Redis (docs/restart.md).
source "$(dirname "$0")/lib.sh"

LIB=$ROOT/build/jobs/job_restart.so
DRV=$ROOT/build/tools/restart_driver
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 3000)
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
# nodes listed as Active by ray status (the dead are listed below them)
alive_nodes() { "$RAY" status --address "127.0.0.1:$1" 2>/dev/null | awk '/^Active:/ {a=1; next} /^[A-Z]|^$/ {a=0} a && / node_/ {n++} END {print n+0}'; }
export -f alive_nodes
export RAY

# ---- embedded
P=$(free_port)
H=$T/head W=$T/w
start_head "$H" "$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources 'wnode=1' "${FLAGS[@]}" >/dev/null 2>&1
check "embedded: two nodes up" test -n "$(idof "$H")" -a -n "$(idof "$W")"
HS=$(readlink -f "$H/session_latest")
TOKEN=$(cat "$HS/auth_token")
WSOCK="unix:$W/session_latest/sockets/raylet.sock"
HSOCK="unix:$H/session_latest/sockets/raylet.sock"
RPID=$(cat "$HS/redis.pid")
HPID=$(rayd_pid "$H") WPID=$(rayd_pid "$W")
rcli() { redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning "$@"; }

# an actor made just before the crash: its record may be in no fsynced AOF
timeout 60 "$DRV" "$WSOCK" "$LIB" create late wnode=1 >"$T/out.create" 2>&1
kill -9 "$RPID"
log "killed redis-server $RPID right after the actor was created"
check_out "embedded: a detached named actor made just before" "$T/out.create" "^created value=1$"
timeout 120 "$DRV" "$WSOCK" "$LIB" loop late 6 >"$T/out.loop" 2>&1 &
loop=$!
newpid() { p=$(cat "$HS/redis.pid" 2>/dev/null); [ -n "$p" ] && [ "$p" != "$RPID" ] && pid_alive "$p"; }
check "the head starts its redis-server again" wait_for 20 newpid
check "it answers, with the tables of before" wait_for 20 bash -c "redis-cli -h 127.0.0.1 -p $P -a $TOKEN --no-auth-warning sismember ray:default:nodes $(idof "$W") | grep -qx 1"
check_out "the head says so" "$HS/logs/rayd_head.log" "redis-server was killed by signal 9: starting it again"
check "both nodes reconnect" wait_for 20 bash -c "[ \"\$(alive_nodes $P)\" = 2 ]"
check "the actor's record is back (written again by its node)" \
    wait_for 10 bash -c "redis-cli -h 127.0.0.1 -p $P -a $TOKEN --no-auth-warning get ray:default:actor_name:late | grep -q ."
check "its node wrote its actor record again" wait_for 5 grep -Eq "GCS back: wrote again the locations of [0-9]+ objects, 1 actors and [0-9]+ jobs" "$W"/session_latest/logs/rayd.log
wait $loop
check "calls and tasks went on through the outage" test $? -eq 0
check_out "none lost" "$T/out.loop" "^summary calls=[0-9]+ tasks=[0-9]+ lost=0 bad=0 "
last=$(sed -n 's/^summary.* last=\([0-9]*\).*/\1/p' "$T/out.loop")
timeout 60 "$DRV" "$HSOCK" "$LIB" incr late >"$T/out.fromhead" 2>&1
check_out "the actor is found by name from the head and kept its state" "$T/out.fromhead" "^value=$((last + 1))$"
timeout 60 "$RAY" submit --temp-dir "$H" "$ROOT/examples/build/job_squares.so" >"$T/out.submit" 2>&1
check "a job runs after the Redis restart" test $? -eq 0
check "no node restarted" bash -c "[ '$(rayd_pid "$H")' = '$HPID' ] && [ '$(rayd_pid "$W")' = '$WPID' ]"
"$RAY" stop --temp-dir "$W" >/dev/null 2>&1
"$RAY" stop --temp-dir "$H" >/dev/null 2>&1

# ---- external: the nodes wait for it
RP=$(free_port)
PW=extpass$RANDOM$RANDOM
mkdir -p "$T/redis"
xredis() {
    redis-server --port "$RP" --bind 127.0.0.1 --requirepass "$PW" --dir "$T/redis" --save '' \
        --appendonly yes --appendfsync everysec --daemonize yes --pidfile "$T/redis/pid" \
        --logfile "$T/redis/log"
    wait_for 10 redis-cli -h 127.0.0.1 -p "$RP" -a "$PW" --no-auth-warning ping
}
xredis
TEMP_DIRS+=("$T/xh")
"$RAY" start --head --gcs-address "redis://:$PW@127.0.0.1:$RP" --node-ip-address 127.0.0.1 \
    --temp-dir "$T/xh" --num-cpus 1 --object-store-memory 128MiB "${FLAGS[@]}" >"$T/out.xh" 2>&1
start_node "$T/xw" 127.0.0.2 "127.0.0.1:$RP" --num-cpus 2 --resources '{"wnode": 1, "xfree": 1}' "${FLAGS[@]}" >/dev/null 2>&1
check "external: two nodes up" test "$(alive_nodes "$RP")" = 2
XW="unix:$T/xw/session_latest/sockets/raylet.sock"
timeout 60 "$DRV" "$XW" "$LIB" create xkeeper wnode=1 >"$T/out.xcreate" 2>&1
timeout 120 "$DRV" "$XW" "$LIB" loop xkeeper 8 >"$T/out.xloop" 2>&1 &
loop=$!
sleep 1
# a driver whose job number is asked for just before Redis dies: writes
# are paused, so its INCR is in flight when Redis is killed, and its node
# asks again once Redis is back (it used to fail at once with "cannot
# allocate a job: GCS unavailable")
redis-cli -h 127.0.0.1 -p "$RP" -a "$PW" --no-auth-warning client pause 10000 write >/dev/null
timeout 60 "$DRV" "$XW" "$LIB" task xfree=1 >"$T/out.xoutage" 2>&1 &
outage=$!
sleep 1
kill -9 "$(cat "$T/redis/pid")"
sleep 2
xredis
check "external: the same Redis comes back" test $? -eq 0
wait $outage
check "external: a driver whose job number was in flight when Redis died gets its job once it is back ($?)" test $? -eq 0
check_out "... and its task's result" "$T/out.xoutage" "^task=42$"
check "both nodes reconnect" wait_for 20 bash -c "[ \"\$(alive_nodes $RP)\" = 2 ]"
wait $loop
check "external: calls and tasks went on through the outage" test $? -eq 0
check_out "none lost" "$T/out.xloop" "^summary calls=[0-9]+ tasks=[0-9]+ lost=0 bad=0 "
last=$(sed -n 's/^summary.* last=\([0-9]*\).*/\1/p' "$T/out.xloop")
timeout 60 "$DRV" "unix:$T/xh/session_latest/sockets/raylet.sock" "$LIB" incr xkeeper >"$T/out.xhead" 2>&1
check_out "external: the named actor is found from the head, state kept" "$T/out.xhead" "^value=$((last + 1))$"
timeout 60 "$RAY" submit --temp-dir "$T/xh" "$ROOT/examples/build/job_squares.so" >"$T/out.xsubmit" 2>&1
check "external: a job runs after the Redis restart" test $? -eq 0

# ---- external: the head itself killed and started again on the same Redis
XHS=$(readlink -f "$T/xh/session_latest")
kill -9 "$(cat "$XHS/rayd.pid")"
sleep 1
"$RAY" start --head --gcs-address "redis://:$PW@127.0.0.1:$RP" --node-ip-address 127.0.0.1 \
    --temp-dir "$T/xh" --num-cpus 1 --object-store-memory 128MiB "${FLAGS[@]}" >"$T/out.xh2" 2>&1
check_out "external: a killed head starts again on the same Redis, same session" "$T/out.xh2" "^Resuming session $XHS "
check "external: both nodes alive, the dead head listed dead" wait_for 20 bash -c "[ \"\$(alive_nodes $RP)\" = 2 ]"
"$RAY" status --address "127.0.0.1:$RP" >"$T/status.xh2" 2>&1
check_out "the killed head is listed dead, and why" "$T/status.xh2" "node_[0-9a-f]+ .*head restarted: replaced by head [0-9a-f]{8}"
timeout 60 "$DRV" "unix:$T/xh/session_latest/sockets/raylet.sock" "$LIB" incr xkeeper >"$T/out.xhead2" 2>&1
check_out "external: the named actor is found from the new head, state kept" "$T/out.xhead2" "^value=$((last + 2))$"
"$RAY" stop --temp-dir "$T/xw" >/dev/null 2>&1
"$RAY" stop --temp-dir "$T/xh" >/dev/null 2>&1
kill "$(cat "$T/redis/pid")"
finish
