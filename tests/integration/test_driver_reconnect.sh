# test_driver_reconnect.sh — drivers connected to the head survive its
# rayd's kill -9 and reconnect by themselves to the head started again on
# the same port and temp dir (docs/faults.md "Drivers of a node that dies"):
# a standalone driver's gets of work running on another node complete, new
# calls work, its detached actor on the other node keeps its state, and its
# job is FINISHED (not FAILED) at the end; `ray submit` and its driver
# reconnect too and the job's output stream resumes; a driver whose head never
# comes back stops after its bound (RAY_DRIVER_RECONNECT_MS) with one clear
# error.
source "$(dirname "$0")/lib.sh"

LIB=$ROOT/build/jobs/job_restart.so
DRV=$ROOT/build/tools/restart_driver
P=$(free_port)
H=$T/head W=$T/w
FLAGS=(--heartbeat-interval-ms 200 --node-timeout-ms 3000)
start_head "$H" "$P" --num-cpus 1 "${FLAGS[@]}" >/dev/null 2>&1
check "head up" test $? -eq 0
start_node "$W" 127.0.0.2 "127.0.0.1:$P" --num-cpus 3 --resources 'wnode=10' "${FLAGS[@]}" >/dev/null 2>&1
check "worker node up" test $? -eq 0
HS=$(readlink -f "$H/session_latest")
TOKEN=$(cat "$HS/auth_token")
HSOCK="unix:$HS/sockets/raylet.sock"
WSOCK="unix:$W/session_latest/sockets/raylet.sock"
rcli() { redis-cli -h 127.0.0.1 -p "$P" -a "$TOKEN" --no-auth-warning "$@"; }
restart_head() {
    "$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" --num-cpus 1 \
        --object-store-memory 256MiB "${FLAGS[@]}" >"$1" 2>&1
}

timeout 60 "$DRV" "$WSOCK" "$LIB" create keeper wnode=1 >"$T/out.create" 2>&1
check_out "a detached named actor on the worker node" "$T/out.create" "^created value=1$"

# a standalone driver on the head: four 5 s naps on the worker node, then
# new calls; and `ray submit` of a job that runs naps there for 12 s
timeout 120 "$DRV" "$HSOCK" "$LIB" reconnect keeper wnode=1 >"$T/out.drv" 2>"$T/err.drv" &
drv=$!
(cd "$T" && timeout 120 "$RAY" submit --temp-dir "$H" "$LIB" -- across 12 wnode=1 >"$T/out.submit" 2>&1) &
sub=$!
check "the driver submitted its naps" wait_for 30 grep -q '^submitted$' "$T/out.drv"
check "the submitted job runs" wait_for 30 grep -q '^step 3 = 9$' "$T/out.submit"
JOB=$(sed -n 's/^job=//p' "$T/out.drv")
SJOB=$(rcli --raw keys 'ray:default:job:*' | sed -n 's/^ray:default:job:\([0-9a-f]\{8\}\)$/\1/p' |
    while read -r j; do [ "$(rcli hget "ray:default:job:$j" entrypoint)" != "" ] && [ "$j" != "$JOB" ] &&
        [ "$(rcli hget "ray:default:job:$j" state)" = RUNNING ] && echo "$j"; done | tail -1)
sleep 1 # the naps reach the worker node and start
kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
down=$SECONDS
log "killed the head's rayd and redis-server (jobs $JOB and ${SJOB:-?})"
sleep 1
restart_head "$T/out.restart"
check_out "the head resumes its session" "$T/out.restart" "^Resuming session $HS "

wait $drv
check "the standalone driver ended well" test $? -eq 0
log "driver done $((SECONDS - down)) s after the kill; $(grep reconnected "$T/err.drv" | head -1)"
check_out "it reconnected by itself" "$T/err.drv" "^ray: reconnected to node [0-9a-f]{8} after "
check_out "its gets of work that ran on the worker node completed, new calls work, the actor kept its state" \
    "$T/out.drv" "^summary naps=4 bad=0 twice=10 before=2 after=3$"
check "its job, driven by the restarted head, FINISHED (not FAILED)" \
    wait_for 10 bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $P -a '$TOKEN' --no-auth-warning hget ray:default:job:$JOB state)\" = FINISHED ]"
check_out "the head's log says the driver reconnected" "$HS/logs/rayd_head.log" \
    "job $JOB: its driver reconnected here"

wait $sub
src=$?
check "ray submit reconnected by itself" grep -q "^ray submit: reconnected to the head after " "$T/out.submit"
check "its stream resumed: the job's last lines, and ray submit's status is the job's (rc $src)" \
    bash -c "grep -q '^across steps=[0-9]* bad=0$' '$T/out.submit' && [ $src -eq 0 ]"
n1=$(grep -c '^step [0-9]* = ' "$T/out.submit")
last=$(sed -n 's/^across steps=\([0-9]*\) .*/\1/p' "$T/out.submit")
log "ray submit printed $n1 of ${last:-?} steps (lines printed while the driver was cut off may be lost)"
if [ -n "$SJOB" ]; then
    check "the submitted job FINISHED" wait_for 10 bash -c \
        "[ \"\$(redis-cli -h 127.0.0.1 -p $P -a '$TOKEN' --no-auth-warning hget ray:default:job:$SJOB state)\" = FINISHED ]"
else
    fail "the submitted job's ID was not found"
fi

# a driver whose head never comes back: a clear error after its bound
timeout 60 env RAY_DRIVER_RECONNECT_MS=3000 "$DRV" "$HSOCK" "$LIB" wait wnode=1 >"$T/out.gone" 2>&1 &
gone=$!
sleep 2
kill -9 "$(cat "$HS/rayd.pid")" "$(cat "$HS/redis.pid")"
t0=$SECONDS
wait $gone
rc=$?
took=$((SECONDS - t0))
check "a driver whose node never comes back fails (rc $rc) after about its bound ($took s)" \
    test "$rc" -eq 1 -a "$took" -ge 3 -a "$took" -le 15
check_out "with one clear error" "$T/out.gone" \
    "^wait: connection to the node failed: .*could not reconnect within 3 s \(RAY_DRIVER_RECONNECT_MS\)"
finish
