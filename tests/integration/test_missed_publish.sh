#!/usr/bin/env bash
# test_missed_publish.sh — a waiter that misses its object's publication
# still gets it (objmgr's relook timer, docs/faults.md "Soak"): a driver on
# a head with no CPU waits (ray_get) for the 1 MiB value of a task running
# on node B. Once the waiter's first looks are over (3 s), every pub/sub
# connection to Redis is cut and kept away (the password is changed, so
# they cannot log in again: their command connections stay); then the task
# returns and B publishes its location to nobody. The get must still
# return, within a few seconds, while the head's pub/sub connection is
# still away: the head reads the object table again on its timer. (Before
# that timer a want read the table only at 0.2 s and 2 s and after its
# command connection came back: this get waited for ever.) Then the
# password is restored and the nodes' subscriptions come back.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_lineage.so
P=$(free_port)
A=$T/a B=$T/b D=$T/d
mkdir -p "$D"
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 5000)
start_head "$A" "$P" --num-cpus 0 "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
check "head (no CPU) and node B up" test -n "$(idof "$A")" -a -n "$(idof "$B")"
TOKEN=$(cat "$(readlink -f "$A/session_latest")/auth_token")
PW=$TOKEN
rcli() { redis-cli -h 127.0.0.1 -p "$P" -a "$PW" --no-auth-warning "$@"; }
pubsubs() { rcli client list | grep -c 'flags=P'; }
check "both nodes are subscribed (pub/sub connections: $(pubsubs))" test "$(pubsubs)" -ge 2
export RAY_ADDRESS=127.0.0.1:$P

timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- missed "$D" 1 40000 >"$T/out" 2>&1 &
job=$!
check "the task runs on B" wait_for 60 test -f "$D/started"
sleep 3 # the waiter's first looks (0.2 s, 2 s) find no holder

# cut every pub/sub connection and keep them out
rcli config set requirepass "x$TOKEN" >/dev/null
PW=x$TOKEN
rcli client kill type pubsub >/dev/null
sleep 0.5
check "no pub/sub connection is left ($(pubsubs))" test "$(pubsubs)" -eq 0
t0=$SECONDS
touch "$D/gate" # B seals the value and publishes it to nobody
got() { grep -q '^got the value' "$T/out"; }
wait_for 15 got
check "the get returns within 15 s of the missed publication ($((SECONDS - t0)) s)" got
check "... while the head's pub/sub connection is still away ($(pubsubs))" test "$(pubsubs)" -eq 0
check_out "the value is intact" "$T/out" "^got the value \(counter 5151\)"

# let them back in: the subscriptions come back
rcli config set requirepass "$TOKEN" >/dev/null
PW=$TOKEN
subscribed() { [ "$(pubsubs)" -ge 2 ]; }
check "the pub/sub connections come back" wait_for 15 subscribed
wait $job
rc=$?
check "the job ends with status 0 (rc=$rc)" test $rc -eq 0
"$RAY" stop --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
