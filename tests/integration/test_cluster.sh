# test_cluster.sh — a head and two nodes on 127.0.0.1-3 come up; ray status
# shows three alive nodes and summed resources; a stopped node and a killed
# node show as dead; ray stop leaves no process, socket, shared memory or port.
source "$(dirname "$0")/lib.sh"

P=$(free_port)
H=$T/head N2=$T/n2 N3=$T/n3
start_head "$H" "$P" --num-cpus 2 --resources 'special=2' --node-timeout-ms 2000 \
    --heartbeat-interval-ms 200 >"$T/start.out" 2>&1
check "head starts" grep -q "Ray runtime started" "$T/start.out"
check "start prints how to join" grep -q "ray start --address='127.0.0.1:$P'" "$T/start.out"
check "token is 0600" test "$(stat -c %a "$HOME/.ray/auth_token")" = 600
start_node "$N2" 127.0.0.2 "127.0.0.1:$P" --num-cpus 3 --heartbeat-interval-ms 200 >/dev/null 2>&1
check "node 2 joins" test $? -eq 0
start_node "$N3" 127.0.0.3 "127.0.0.1:$P" --num-cpus 1 --resources '{"gadget": 1.5}' \
    --heartbeat-interval-ms 200 >/dev/null 2>&1
check "node 3 joins" test $? -eq 0

"$RAY" status --address "127.0.0.1:$P" >"$T/status" 2>&1
alive=$(sed -n '/^Active:/,/^Dead:/p' "$T/status" | grep -c ' node_')
check "status shows 3 alive nodes (got $alive)" test "$alive" -eq 3
check "status sums CPUs to 6" grep -q '^ 0.0/6.0 CPU' "$T/status"
check "status shows custom resources" grep -q '0.0/2.0 special' "$T/status"
check "status shows JSON resources" grep -q '0.0/1.5 gadget' "$T/status"
"$RAY" list nodes --format json --address "127.0.0.1:$P" >"$T/nodes.json"
check "list nodes json has 3 nodes" test "$(grep -c '"node_id"' "$T/nodes.json")" -eq 3
"$RAY" list nodes --address "127.0.0.1:$P" >"$T/nodes.txt"
check "list nodes table" grep -q '127.0.0.2' "$T/nodes.txt"

# a graceful stop marks the node dead at once
"$RAY" stop --temp-dir "$N3" >/dev/null
dead_count() { "$RAY" status --address "127.0.0.1:$P" | sed -n '/^Dead:/,/^Resources/p' | grep -c ' node_'; }
dead_is() { test "$(dead_count)" -eq "$1"; }
check "stopped node shows dead" wait_for 5 dead_is 1
# a killed node is declared dead by the head within the timeout
kill -9 "$(rayd_pid "$N2")"
t0=$SECONDS
wait_for 10 dead_is 2
check "killed node declared dead within the timeout ($((SECONDS - t0)) s)" dead_is 2
"$RAY" status --address "127.0.0.1:$P" >"$T/status2"
check "CPU total drops to 2" grep -q '^ 0.0/2.0 CPU' "$T/status2"

# ray stop leaves nothing behind
head_pid=$(rayd_pid "$H")
stores=$(cat "$H"/session_latest/node.info "$N2"/session_latest/node.info "$N3"/session_latest/node.info | sed -n 's|^store=/||p')
"$RAY" stop --temp-dir "$H" >/dev/null
"$RAY" stop --force --temp-dir "$N2" >/dev/null
check "no rayd, worker or redis left: $(live_procs "$T" | tr '\n' ' ')" test -z "$(live_procs "$T")"
check "no redis-server on the GCS port left" test -z "$(live_procs "127.0.0.1:$P")"
not_alive() { ! pid_alive "$1"; }
check "head pid gone" not_alive "$head_pid"
check "no sockets left" bash -c "! find '$T' -type s | grep -q ."
shm_left() { local s; for s in $stores; do [ -e "/dev/shm/$s" ] && return 0; done; return 1; }
check "the nodes' stores were named ($(echo $stores | wc -w))" test "$(echo $stores | wc -w)" -eq 3
check "no shared memory left" bash -c "$(declare -f shm_left); stores='$stores'; ! shm_left"
check "GCS port closed" bash -c "! ss -Htln 'sport = :$P' | grep -q ."
finish
