# test_hardening.sh — a node keeps its footing against hostile or careless
# peers (issue 10): a driver that talks before HELLO_OK, floods of idle and
# byte-trickling connections with few descriptors, private session files,
# and what a kill -9 of the head leaves behind (its redis-server, workers and
# shared memory go with it or are swept by the next start).
# The raw client is build/tools/rayprobe (tests/tools/rayprobe.c).
# integration: alone (it loads the machine or times what it does)
source "$(dirname "$0")/lib.sh"

PROBE="$ROOT/build/tools/rayprobe"
[ -x "$PROBE" ] || { fail "build/tools/rayprobe missing (make testjobs)"; finish; }
JOB="$ROOT/build/jobs/job_semantics.so"

P=$(free_port)
H=$T/head
# few descriptors, so that a flood can run the node out of them
(ulimit -n 256; start_head "$H" "$P" --num-cpus 2 >/dev/null)
check "head starts with ulimit -n 256" test $? -eq 0
pid=$(rayd_pid "$H")
S=$(cd "$H/session_latest" && pwd -P)
tcp=$(grep '^node_port=' "$S/node.info" | cut -d= -f2)
tok=$(cat "$S/auth_token")
LOG="$S/logs/rayd_head.log"

# --- 1. a standalone driver that sends requests in the same write as HELLO ----
"$PROBE" early 127.0.0.1 "$tcp" "$tok" >"$T/early.out" 2>&1
check_out "HELLO + OBJ_PUT + OBJ_GET + PING + NODE_INFO_REQ in one write: all answered" \
    "$T/early.out" "hello_ok 1 obj_get_ok 1 pong 1 node_info 1"
for i in 1 2 3; do "$PROBE" early 127.0.0.1 "$tcp" "$tok" close; done
sleep 0.5
check "node survives drivers that put and hang up before HELLO_OK" pid_alive "$pid"

# --- 2. floods ------------------------------------------------------------------
srcs="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9"
"$PROBE" trickle 127.0.0.1 "$tcp" "$tok" 25 >"$T/trickle.out" 2>&1 &
trickle=$!
sleep 1 # connected before the flood fills the unauthenticated slots (a quarter of 256)
"$PROBE" flood 127.0.0.1 "$tcp" 2000 8 $srcs >"$T/flood.out" 2>&1 &
flood=$!
sleep 2
start=$(date +%s%N)
"$RAY" submit --address "127.0.0.1:$P" "$ROOT/examples/build/job_pi.so" >"$T/pi1.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a job runs during a flood of 2,000 idle connections (rc=$rc, ${ms} ms)" \
    bash -c "[ $rc -eq 0 ] && [ $ms -lt 5000 ]"
wait "$flood"
read -r closed opened < <(sed -n 's/^closed_by_node \([0-9]*\) of \([0-9]*\)/\1 \2/p' "$T/flood.out")
check "the node refused or closed most of the flood (${closed:-?} of ${opened:-?})" \
    bash -c "[ ${opened:-0} -ge 500 ] && [ $((${closed:-0} * 2)) -ge ${opened:-0} ]"
wait "$trickle"
# (the deadline is 10 s from accept; a loaded machine, or a sanitizer
# build, may close it a few seconds late: never seconds early, never not)
check_out "a peer trickling HELLO a byte a second is closed at the deadline" \
    "$T/trickle.out" "closed after (9|1[0-6])\.[0-9] s"
check "refusals are logged as a summary" grep -q "refused .* unauthenticated connection" "$LOG"

# authenticated connections until the node runs out of descriptors
"$PROBE" authhold 127.0.0.1 "$tcp" "$tok" 400 4 >"$T/hold.out" 2>&1
sleep 0.5
n=$(grep -c 'accept' "$LOG")
check "out of descriptors: accept errors are paused and summed up, not a flood ($n lines)" \
    bash -c "grep -q 'Too many open files' '$LOG' && [ $n -lt 60 ]"
cpu=$(ps -o times= -p "$pid" | tr -d ' ')
check "the node did not spin meanwhile (${cpu} s of CPU)" test "${cpu:-99}" -lt 5
start=$(date +%s%N)
"$RAY" submit --address "127.0.0.1:$P" "$ROOT/examples/build/job_pi.so" >"$T/pi2.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "and a job runs quickly afterwards (rc=$rc, ${ms} ms)" bash -c "[ $rc -eq 0 ] && [ $ms -lt 5000 ]"
check "node still alive" pid_alive "$pid"

# --- 5. nothing of the session is readable by others -------------------------------
ls "$S"/logs/job-*.log >/dev/null 2>&1
check "job logs exist" test $? -eq 0
open=$(find "$S" \( -type f -o -type d \) -perm /077 2>/dev/null)
check "session files are 0600 and directories 0700 (open: ${open:-none})" test -z "$open"
check "job log is 0600" bash -c "stat -c %a '$S'/logs/job-*.log | sort -u | grep -qx 600"

# --- 1/6. kill -9 of the head: its redis-server and workers go, its store is swept ----
"$RAY" submit --address "127.0.0.1:$P" "$JOB" survive 2 30000 >"$T/survive.out" 2>&1 &
submit=$!
workers() { ps -eo pid=,ppid=,args= | awk -v p="$pid" '$2 == p && /--worker/ {print $1}'; }
wait_for 20 bash -c "[ -n \"\$(ps -eo ppid=,args= | awk -v p=$pid '\$1 == p && /--worker/')\" ]"
wpids=$(workers)
dpids=$(ps -eo pid=,ppid=,args= | awk -v p="$pid" '$2 == p && /--driver/ {print $1}')
rpid=$(cat "$S/redis.pid")
store=$(grep '^store=' "$S/node.info" | cut -d= -f2)
check "workers run (${wpids//$'\n'/ })" test -n "$wpids"
check "the store is in /dev/shm" test -e "/dev/shm${store}"
kill -9 "$pid"
gone() { for p in "$@"; do pid_alive "$p" && return 1; done; return 0; }
check "kill -9 head: its redis-server exits" wait_for 5 gone "$rpid"
check "kill -9 head: its workers exit" wait_for 5 gone $wpids
for d in $dpids; do kill -9 "$d" 2>/dev/null; done # a driver outlives its node by design
kill "$submit" 2>/dev/null; wait "$submit" 2>/dev/null
check "a crashed node's store is left in /dev/shm" test -e "/dev/shm${store}"
# a stale redis-server of a dead session (as from a head that died before
# PDEATHSIG existed) holding the head's port: the next head stops it
F="$H/session_2000-01-01_00-00-00_000000_1"
mkdir -p "$F/redis"
( exit 0 ) & dead=$!; wait "$dead"; echo "$dead" >"$F/rayd.pid"
redis-server --port "$P" --bind 127.0.0.1 --dir "$F/redis" --save '' --appendonly no \
    --daemonize no >/dev/null 2>&1 &
stale=$!
echo "$stale" >"$F/redis.pid"
wait_for 5 redis-cli -h 127.0.0.1 -p "$P" PING
start_head "$H" "$P" --num-cpus 1 >/dev/null
check "ray start --head on the same port works again" test $? -eq 0
check "the new head removed the dead node's store" bash -c "! test -e '/dev/shm${store}'"
check "and said so" grep -q "removed the object store ${store}" "$H/session_latest/logs/rayd_head.log"
check "the new head stopped the stale redis-server of a dead session" bash -c "! kill -0 $stale 2>/dev/null || [[ \$(ps -o stat= -p $stale) == Z* ]]"
# ray stop of a crashed node sweeps its store too
pid2=$(rayd_pid "$H")
store2=$(grep '^store=' "$H/session_latest/node.info" | cut -d= -f2)
kill -9 "$pid2"
wait_for 5 bash -c "! kill -0 $pid2"
"$RAY" stop --temp-dir "$H" >/dev/null
check "ray stop removes a crashed node's store" bash -c "! test -e '/dev/shm${store2}'"
finish
