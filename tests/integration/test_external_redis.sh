# test_external_redis.sh — a head on an existing Redis given with
# --gcs-address; a node joins; status works; the tables are in that Redis
# under the cluster prefix.
source "$(dirname "$0")/lib.sh"

RP=$(free_port)
PW=extpass$RANDOM$RANDOM
mkdir -p "$T/redis"
redis-server --port "$RP" --bind 127.0.0.1 --requirepass "$PW" --dir "$T/redis" --save '' \
    --daemonize yes --pidfile "$T/redis/pid" --logfile "$T/redis/log"
wait_for 5 redis-cli -h 127.0.0.1 -p "$RP" -a "$PW" --no-auth-warning ping
TEMP_DIRS+=("$T/head")
"$RAY" start --head --gcs-address "redis://:$PW@127.0.0.1:$RP" --node-ip-address 127.0.0.1 \
    --temp-dir "$T/head" --num-cpus 1 --object-store-memory 128MiB >"$T/out" 2>&1
check "head starts on external redis" grep -q "Ray runtime started" "$T/out"
check "no embedded redis started" test ! -f "$T/head/session_latest/redis.pid"
start_node "$T/n2" 127.0.0.2 "127.0.0.1:$RP" --num-cpus 2 >/dev/null 2>&1
check "node joins" test $? -eq 0
check "status shows 2 nodes" bash -c "'$RAY' status --address 127.0.0.1:$RP | grep -c ' node_' | grep -qx 2"
keys=$(redis-cli -h 127.0.0.1 -p "$RP" -a "$PW" --no-auth-warning keys 'ray:default:node:*' | wc -l)
check "node table in the external redis ($keys keys)" test "$keys" -eq 2
ev=$(redis-cli -h 127.0.0.1 -p "$RP" -a "$PW" --no-auth-warning xlen ray:default:events)
check "event log written ($ev events)" test "$ev" -ge 2
"$RAY" stop --temp-dir "$T/n2" >/dev/null
"$RAY" stop --temp-dir "$T/head" >/dev/null
check "external redis keeps running after ray stop" \
    bash -c "redis-cli -h 127.0.0.1 -p '$RP' -a '$PW' --no-auth-warning ping | grep -q PONG"
kill "$(cat "$T/redis/pid")"
finish
