# test_rejoin_replay.sh — a node whose GCS connection comes back to a node
# table that says it is DEAD (the head declared it dead while it could not
# reach the GCS) rejoins as a new node instead of writing itself ALIVE
# again under its old ID (daemon/node.c, docs/restart.md). Made
# deterministic: its record is set DEAD in Redis without a publication,
# then Redis drops its connections.
source "$(dirname "$0")/lib.sh"

P=$(free_port)
H=$T/head W=$T/w
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$H" "$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
check "two nodes up" test $? -eq 0
TOKEN=$(cat "$H"/session_latest/auth_token)
IW=$(sed -n 's/^node_id=//p' "$W"/session_latest/node.info)
WPID=$(rayd_pid "$W")
rcli() { redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning "$@"; }

rcli hset "ray:default:node:$IW" state DEAD death_reason "test: declared dead during an outage" >/dev/null
# its connections to Redis, by their local ports (ss names the process)
ports=$(ss -tnpH "dport = :$P" 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://')
check "its GCS connections are found (ports: $(echo $ports))" test -n "$ports"
for port in $ports; do
    rcli client kill addr "127.0.0.1:$port" >/dev/null 2>&1 || rcli client kill addr "127.0.0.2:$port" >/dev/null 2>&1
done
log "set node ${IW:0:8} DEAD and dropped its GCS connections"
rejoined() { local n; n=$(sed -n 's/^node_id=//p' "$W"/session_latest/node.info); [ -n "$n" ] && [ "$n" != "$IW" ]; }
check "it rejoins as a new node" wait_for 30 rejoined
check_out "saying why" "$W/session_latest/logs/rayd.log" "its record says DEAD \(test: declared dead during an outage\) after its GCS connection came back"
check "the same rayd process" pid_alive "$WPID"
check "its old ID stays DEAD" test "$(rcli hget "ray:default:node:$IW" state)" = DEAD
INEW=$(sed -n 's/^node_id=//p' "$W"/session_latest/node.info)
alive_new() { [ "$(rcli hget "ray:default:node:$INEW" state)" = ALIVE ]; }
check "the new ID is ALIVE" wait_for 10 alive_new
finish
