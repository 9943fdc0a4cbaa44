# test_head_restart.sh — kill -9 of the head's rayd and its Redis while a
# driver on one node calls a detached named actor on another node every
# 100 ms and runs a task each time; `ray start --head` again on the same port
# and temp dir resumes the session (same token: the node authenticates), the
# node rejoins by itself, no call or task is lost, the actor keeps its state
# and the tables (named actor, node table) are as before (docs/restart.md).
source "$(dirname "$0")/lib.sh"

LIB=$ROOT/build/jobs/job_restart.so
DRV=$ROOT/build/tools/restart_driver
P=$(free_port)
H=$T/head W=$T/w D=$T/d
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 3000)
start_head "$H" "$P" --num-cpus 1 --resources 'hnode=1' "${FLAGS[@]}" >/dev/null 2>&1
check "head up" test $? -eq 0
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources 'wnode=1' "${FLAGS[@]}" >/dev/null 2>&1
check "worker node up" test $? -eq 0
start_node "$D" 127.0.0.3 "127.0.0.1:$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
check "driver's node up" test $? -eq 0
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IH=$(idof "$H") IW=$(idof "$W") ID=$(idof "$D")
HS=$(readlink -f "$H/session_latest")
TOKEN=$(cat "$HS/auth_token")
WSOCK="unix:$W/session_latest/sockets/raylet.sock"
WPID=$(rayd_pid "$W") DPID=$(rayd_pid "$D")
DSOCK="unix:$D/session_latest/sockets/raylet.sock"

timeout 60 "$DRV" "$WSOCK" "$LIB" create keeper wnode=1 >"$T/out.create" 2>&1
check_out "a detached named actor on the worker node" "$T/out.create" "^created value=1$"
timeout 60 "$DRV" "unix:$H/session_latest/sockets/raylet.sock" "$LIB" create onhead hnode=1 >"$T/out.onhead" 2>&1
check_out "and one made on the head by a driver there (no restarts)" "$T/out.onhead" "^created value=1$"

# a driver on a third node: 14 s of calls to the actor on the worker node,
# and tasks on its own node, across the outage
timeout 120 "$DRV" "$DSOCK" "$LIB" loop keeper 14 >"$T/out.loop" 2>&1 &
loop=$!
sleep 3
kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
down=$SECONDS
log "killed the head's rayd and redis-server (kill -9)"
sleep 1
# work only the head can run, made while it is down: it waits for the head
timeout 120 "$DRV" "$WSOCK" "$LIB" task hnode=1 >"$T/out.queued" 2>&1 &
queued=$!
sleep 1
"$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" --num-cpus 1 --resources 'hnode=1' \
    --object-store-memory 256MiB "${FLAGS[@]}" >"$T/out.restart" 2>&1
check "the head starts again" test $? -eq 0
check_out "it resumes the dead head's session" "$T/out.restart" "^Resuming session $HS "
check "same session, same token" test "$(readlink -f "$H/session_latest")" = "$HS" -a \
    "$(cat "$HS/auth_token")" = "$TOKEN"
export RAY_ADDRESS=127.0.0.1:$P
IH2=$(idof "$H")
check "the restarted head is a new node" test -n "$IH2" -a "$IH2" != "$IH"

rejoined() { "$RAY" list nodes --format json 2>/dev/null | tr '{' '\n' | grep "\"$IW\"" | grep -q '"ALIVE"'; }
# the worker node's record must be its own fresh heartbeat, not the old table's
hb_fresh() {
    local now ms id
    now=$(date +%s%3N)
    for id in "$IW" "$ID"; do
        ms=$(redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning hget ray:default:hb "$id" | cut -f1)
        [ -n "$ms" ] && [ $((now - ms)) -lt 1500 ] || return 1
    done
}
check "the worker nodes rejoin by themselves" wait_for 30 hb_fresh
log "worker nodes heartbeating again $((SECONDS - down)) s after the kill"
check "and is ALIVE in the node table" rejoined
both_alive() { pid_alive "$WPID" && pid_alive "$DPID"; }
check "the same rayd processes (they never exited)" both_alive
oldstate=$("$RAY" list nodes --format json 2>/dev/null | tr '{' '\n' | grep "\"$IH\"" | grep -o '"state": *"[A-Z]*"')
check "the dead head is DEAD ($oldstate)" bash -c "echo '$oldstate' | grep -q DEAD"
check "no authentication failure on the worker nodes" \
    bash -c "! grep -qi 'authentication failed\|NOAUTH\|WRONGPASS' '$W'/session_latest/logs/rayd.log '$D'/session_latest/logs/rayd.log"

wait $queued
check_out "work made for the head while it was down waited and ran on the new head" "$T/out.queued" "^task=42$"
wait $loop
check "the driver's loop ended well" test $? -eq 0
check_out "every call and task came back, in order" "$T/out.loop" "^summary calls=[0-9]+ tasks=[0-9]+ lost=0 bad=0 "
sum=$(grep '^summary' "$T/out.loop")
calls=$(echo "$sum" | sed -n 's/.* calls=\([0-9]*\).*/\1/p')
tasks=$(echo "$sum" | sed -n 's/.* tasks=\([0-9]*\).*/\1/p')
last=$(echo "$sum" | sed -n 's/.* last=\([0-9]*\).*/\1/p')
check "calls kept going through the outage ($calls calls, $tasks tasks)" test "${calls:-0}" -ge 40 -a "${tasks:-0}" -ge 40

timeout 60 "$DRV" "$WSOCK" "$LIB" incr keeper >"$T/out.after" 2>&1
check_out "the named actor is found again and kept its state ($last + 1)" "$T/out.after" "^value=$((last + 1))$"
HSOCK="unix:$H/session_latest/sockets/raylet.sock"
timeout 60 "$DRV" "$HSOCK" "$LIB" incr keeper >"$T/out.fromhead" 2>&1
check_out "and is called from the restarted head's node" "$T/out.fromhead" "^value=$((last + 2))$"
timeout 30 "$DRV" "$DSOCK" "$LIB" incr onhead >"$T/out.onhead2" 2>&1
check_out "the head's own actor died with it: its name is free, no call waits for it" \
    "$T/out.onhead2" "lookup onhead: not found"
timeout 60 "$RAY" submit --temp-dir "$H" "$ROOT/examples/build/job_squares.so" >"$T/out.submit" 2>&1
check "a job runs on the restarted cluster" test $? -eq 0

# again, killing only the head's rayd (its Redis gets SIGTERM from the
# kernel) and starting it at once, while the dead rayd may still be exiting;
# with 150,000 more keys the restarted Redis takes a moment to load its
# AOF, and answers LOADING meanwhile: the head must wait, not fail
# (in batches: one script of 150,000 writes blocks Redis for seconds on a
# loaded machine, longer than node_timeout_ms, and the head would declare
# the nodes dead for want of their heartbeats)
for b in $(seq 0 14); do
    redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning eval \
        "for i = ARGV[1] * 10000 + 1, ARGV[1] * 10000 + 10000 do redis.call('SET', 'ray:junk:' .. i, string.rep('x', 100)) end return 1" 0 "$b" >/dev/null
done
kill -9 "$(cat "$HS/rayd.pid")"
"$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" --num-cpus 1 --resources 'hnode=1' \
    --object-store-memory 256MiB "${FLAGS[@]}" >"$T/out.restart2" 2>&1
check_out "a head killed alone and started at once resumes too" "$T/out.restart2" "^Resuming session $HS "
grep -q "is loading its data" "$HS/logs/rayd_head.log" && log "(the head met Redis loading its AOF, and waited)"
check "the worker nodes rejoin again" wait_for 30 hb_fresh
timeout 60 "$DRV" "$DSOCK" "$LIB" incr keeper >"$T/out.after2" 2>&1
check_out "the actor still has its state" "$T/out.after2" "^value=$((last + 3))$"
finish
