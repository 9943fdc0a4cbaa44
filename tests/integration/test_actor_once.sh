# test_actor_once.sh — actor calls run at most once while the actor's worker
# is killed again and again (SPEC section 7): the call that was running fails
# at most once, the calls queued behind it run once on the restarted actor,
# in order, and a call that succeeded ran exactly once.
# integration: alone (it loads the machine or times what it does)
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_actor_once.so
H=$T/head
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"

for round in 1 2 3; do
    log=$T/log.$round pidf=$T/pid.$round
    rm -f "$log" "$pidf"
    timeout 200 "$RAY" submit --temp-dir "$H" "$JOB" -- "$log" "$pidf" 20000 >"$T/out.$round" 2>&1 &
    spid=$!
    # kill the actor's worker six times, each time once it has restarted
    kills=0 last=
    for k in 1 2 3 4 5 6; do
        wait_for 20 test -s "$pidf" || break
        pid=$(cat "$pidf")
        [ "$pid" = "$last" ] && { sleep 0.1; continue; }
        sleep 0.$((RANDOM % 3))$((RANDOM % 10))
        kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
        last=$pid
        wait_for 20 bash -c "[ \"\$(cat '$pidf' 2>/dev/null)\" != '$pid' ]"
    done
    wait $spid
    rc=$?
    if [ $rc -eq 0 ] && grep -q "no call ran twice$" "$T/out.$round"; then
        ok "round $round: $kills kills: $(tail -1 "$T/out.$round")"
    else
        fail "round $round ($kills kills): $(tail -3 "$T/out.$round" | tr '\n' '|')"
    fi
done
finish
