# test_job_objects.sh — a job's end removes its objects everywhere: on a
# 2-node cluster (objects put on the head, made on the other node, copies
# pulled both ways) after a normal end, a failing driver (non-zero return,
# abort), a driver killed with SIGKILL while it keeps both nodes busy, an
# interrupted `ray submit`, and a killed driver whose objects were spilled, `ray list objects` shows none of the job's
# objects within a few seconds and every node's store is back to empty; no
# task record of theirs is left unfinished; a detached actor's own object
# outlives its job, and goes once the actor is killed.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_objects.so
P=$(free_port)
A=$T/a B=$T/b
FLAGS=(--num-cpus 2 --heartbeat-interval-ms 200 --node-timeout-ms 3000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=2' >/dev/null 2>&1
check "two nodes up" test -f "$A/session_latest/rayd.pid" -a -f "$B/session_latest/rayd.pid"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.5

# job hex of the job started last
last_job() { "$RAY" list jobs --format json | sed -n 's/.*"job_id": "\([0-9a-f]*\)".*/\1/p' | sort | tail -1; }
# objects of job $1 in the object table
job_objects() { "$RAY" list objects --limit 1000000 | awk -v j="$1" '$3 == j' | wc -l; }
no_job_objects() { [ "$(job_objects "$1")" -eq 0 ]; }
# every node's store (and the total) shows 0B used; $1: "any" inverts (some used)
stores_empty() { "$RAY" status | grep object_store_memory | grep -vq '^ *0B/' && return 1; return 0; }
stores_used() { ! stores_empty; }

# after_end NAME JOB: its objects leave the table and every store
after_end() {
    local name=$1 j=$2
    check "$name: job $j made objects on both nodes" test -n "$j"
    if wait_for 10 no_job_objects "$j"; then ok "$name: ray list objects shows none of job $j's objects"
    else fail "$name: $(job_objects "$j") objects of job $j still listed"; "$RAY" list objects --limit 5; fi
    if wait_for 10 stores_empty; then ok "$name: every node's store is empty again"
    else fail "$name: store bytes not returned"; "$RAY" status | grep object_store_memory; fi
}

for how in ok fail crash; do
    timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- fill 300 64 bee=1 "$how" >"$T/out.$how" 2>&1
    rc=$?
    check_out "driver that ends $how (rc=$rc) filled both nodes" "$T/out.$how" "^filled:"
    after_end "$how" "$(last_job)"
done

# a driver killed with SIGKILL while it keeps making objects on both nodes
timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- fill 300 64 bee=1 busy >"$T/out.kill" 2>&1 &
sub=$!
wait_for 60 grep -q '^filled' "$T/out.kill"
sleep 1
j=$(last_job)
check "while the job runs the stores hold its objects" stores_used
dpid=$("$RAY" list jobs --format json | grep "\"$j\"" | sed -n 's/.*"driver_pid": "\{0,1\}\([0-9]*\).*/\1/p')
check "the driver's pid is in the job table ($dpid)" test -n "$dpid"
[ -n "$dpid" ] && kill -9 "$dpid"
wait $sub
after_end "kill -9 of the driver" "$j"

# `ray submit` interrupted (Ctrl-C) while the job keeps both nodes busy
timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- fill 300 64 bee=1 busy >"$T/out.int" 2>&1 &
sub=$!
wait_for 60 grep -q '^filled' "$T/out.int"
sleep 1
j=$(last_job)
kill -INT "$sub"
wait $sub
after_end "ray submit interrupted" "$j"

# spilled objects: 400 MiB through the head's 256 MiB store, driver killed
spill_files() { find "$A/session_latest/spill" "$B/session_latest/spill" -type f 2>/dev/null | wc -l; }
no_spill_files() { [ "$(spill_files)" -eq 0 ]; }
timeout 120 "$RAY" submit --temp-dir "$A" "$JOB" -- fill 200 1024 bee=1 hang >"$T/out.spill" 2>&1 &
sub=$!
wait_for 90 grep -q '^filled' "$T/out.spill"
j=$(last_job)
check "the job spilled objects to disk ($(spill_files) files)" test "$(spill_files)" -gt 0
dpid=$("$RAY" list jobs --format json | grep "\"$j\"" | sed -n 's/.*"driver_pid": "\{0,1\}\([0-9]*\).*/\1/p')
[ -n "$dpid" ] && kill -9 "$dpid"
wait $sub
after_end "spilled, driver killed" "$j"
if wait_for 10 no_spill_files; then ok "its spill files are gone"; else fail "$(spill_files) spill files left"; fi

# task records: none of the ended jobs' tasks is left PENDING or RUNNING
# (their finished records may stay for `ray list tasks`: docs/gcs.md)
open_tasks() { "$RAY" list tasks --limit 1000000 | awk 'NR > 1 && ($3 == "PENDING" || $3 == "RUNNING")' | wc -l; }
no_open_tasks() { [ "$(open_tasks)" -eq 0 ]; }
if wait_for 10 no_open_tasks; then ok "no unfinished task records of ended jobs are left"
else fail "$(open_tasks) unfinished task records of ended jobs are left"
    "$RAY" list tasks --limit 1000000 | awk 'NR == 1 || $3 == "PENDING" || $3 == "RUNNING"' | head -5 | sed 's/^/      | /'; fi

# a detached actor's own object outlives its job, and goes with the actor
timeout 60 "$RAY" submit --temp-dir "$A" "$JOB" -- detached make >"$T/out.dm" 2>&1
jd=$(last_job)
check_out "a detached actor put an object" "$T/out.dm" "^kept object"
sleep 2
check "its object is still listed after its job ended" test "$(job_objects "$jd")" -eq 1
timeout 60 "$RAY" submit --temp-dir "$A" "$JOB" -- detached check >"$T/out.dc" 2>&1
check_out "the actor reads its object in a later job" "$T/out.dc" "outlived its job"
timeout 60 "$RAY" submit --temp-dir "$A" "$JOB" -- detached kill >"$T/out.dk" 2>&1
check_out "the actor is killed" "$T/out.dk" "killed"
if wait_for 15 no_job_objects "$jd"; then ok "the killed detached actor's object is gone"
else fail "the dead detached actor's object is still listed"; fi
check "every store is empty at the end" wait_for 10 stores_empty

"$RAY" stop --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
