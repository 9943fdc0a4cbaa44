# test_callseq.sh — actor calls from many threads of one driver at once
# (api/callseq.h): the actors' workers number-check every call for repeats
# (at most once), and no valid call may be refused as one. 8 threads make
# 6,000 async calls each to 4 actors (2 in processes of their own, 2 sharing
# one), then 8 threads to one actor, three rounds; every result is checked
# and every actor's count of calls must add up. (On the process-wide numbers
# this replaced, a call was refused as "older than the calls this actor
# remembers" in most runs.)
# integration: alone (it loads the machine or times what it does)
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_callseq.so
H=$T/head
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"

# three rounds of each: a late call needs a thread descheduled at the wrong
# moment, which a loaded machine gives more often than an idle one
for round in 1 2 3; do
    timeout 100 "$RAY" submit --temp-dir "$H" "$JOB" -- 8 6000 4 2 >"$T/out.many.$round" 2>&1
    check "round $round: 8 threads, 4 actors: submit exits 0" test $? -eq 0
    check_out "round $round: 8 threads, 4 actors: every call ran once" "$T/out.many.$round" \
        "^8 threads, 48000 calls to 4 actors: every call ran once$"
    timeout 100 "$RAY" submit --temp-dir "$H" "$JOB" -- 8 6000 1 0 >"$T/out.one.$round" 2>&1
    check "round $round: 8 threads, 1 actor: submit exits 0" test $? -eq 0
    check_out "round $round: 8 threads, 1 actor: every call ran once" "$T/out.one.$round" \
        "^8 threads, 48000 calls to 1 actors: every call ran once$"
done

# no worker refused a call as a repeat
if grep -rq "came twice" "$H"/session_latest/logs/ 2>/dev/null; then
    fail "no call refused as a repeat: $(grep -rh "came twice" "$H"/session_latest/logs/ | head -2)"
else
    ok "no call refused as a repeat"
fi
finish
