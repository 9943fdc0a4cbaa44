# test_pg_restart.sh — placement groups across a head restart (kill -9 of
# the head's rayd and Redis, `ray start --head` again on the same port and
# temp dir): the restarted head reads the group back from the GCS, its
# bundles stay reserved on the node that holds them (not reserved twice),
# `ray list placement-groups` shows it CREATED, tasks in both bundles run,
# it is found by name, and removing it gives its resources back
# (docs/restart.md).
source "$(dirname "$0")/lib.sh"

LIB=$ROOT/build/jobs/job_restart.so
DRV=$ROOT/build/tools/restart_driver
P=$(free_port)
H=$T/head W=$T/w
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 3000)
start_head "$H" "$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
check "head up" test $? -eq 0
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 3 --resources 'wnode=4' "${FLAGS[@]}" >/dev/null 2>&1
check "worker node up" test $? -eq 0
HS=$(readlink -f "$H/session_latest")
IW=$(sed -n 's/^node_id=//p' "$W"/session_latest/node.info)
WSOCK="unix:$W/session_latest/sockets/raylet.sock"
export RAY_ADDRESS=127.0.0.1:$P
pgstate() { "$RAY" list placement-groups 2>/dev/null | grep survivor; }
# CPU available on the worker node, as the node table says
wcpu() {
    "$RAY" list nodes --format json 2>/dev/null | tr '{' '\n' | grep "\"$IW\"" |
        grep -o '"resources_available": *"[^"]*"' | grep -o 'CPU=[0-9.]*' | head -1 | cut -d= -f2
}

# the group's job runs on the worker node (a driver there): it outlives the head
timeout 150 "$DRV" "$WSOCK" "$LIB" pg survivor "$T/go" wnode=1 >"$T/out.pg" 2>&1 &
drv=$!
check "a group of two bundles on the worker node, tasks in both" wait_for 40 grep -q '^created$' "$T/out.pg"
before=$(pgstate)
check "listed CREATED ($before)" bash -c "echo '$before' | grep -q CREATED"
wcpu_is() { local v; v=$(wcpu); [ "${v%.0}" = "$1" ]; }
check "the bundles hold 2 of the worker node's 3 CPUs" wait_for 10 wcpu_is 1

kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
log "killed the head's rayd and redis-server"
sleep 1
"$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" --num-cpus 1 \
    --object-store-memory 256MiB "${FLAGS[@]}" >"$T/out.restart" 2>&1
check_out "the head resumes its session" "$T/out.restart" "^Resuming session $HS "
check "and reads the group back, its bundles where they were" wait_for 10 grep -qE \
    "placement group [0-9a-f]+ \(survivor\): CREATED \(2 of 2 bundles kept where they are\)" "$HS/logs/rayd_head.log"
after=$(pgstate)
check "ray list placement-groups still shows it CREATED ($after)" bash -c "echo '$after' | grep -q CREATED"
touch "$T/go"
check "found by name, tasks in both bundles run after the restart" wait_for 40 grep -q '^tasks-after ok$' "$T/out.pg"
grep -q '^tasks-after ok$' "$T/out.pg" || { log "driver: $(tail -3 "$T/out.pg")"; kill $drv; }
check "not reserved twice: the worker node still has 1 CPU free ($(wcpu))" wcpu_is 1
touch "$T/go.rm"
wait $drv
check "the driver ended well" test $? -eq 0
check_out "removal works, and work in the removed group is RAY_EPG" "$T/out.pg" "^summary pg ok$"
check "the worker node's 3 CPUs are free again" wait_for 15 wcpu_is 3
gone=$(pgstate)
check "the group is listed REMOVED ($gone)" bash -c "echo '$gone' | grep -q REMOVED"
finish
