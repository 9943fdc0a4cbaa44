# test_late_join.sh — a head alone in its cluster holds its object-table
# entries back (objmgr/objrec.c); objects a driver put while it was alone
# must still be found by a node that joins later: a task that only the new
# node can run reads them by reference.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
A=$T/a B=$T/b
FLAGS=(--num-cpus 1 --heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null
check "head starts alone" test $? -eq 0
MARK=$T/joined
timeout 120 "$RAY" submit --address "127.0.0.1:$P" --temp-dir "$A" "$JOB" -- late_join "$MARK" late=1 \
    >"$T/out" 2>&1 &
sub=$!
for _ in $(seq 1 100); do grep -q "objects put" "$T/out" 2>/dev/null && break; sleep 0.1; done
check "the driver put its objects while the head was alone" grep -q "objects put" "$T/out"
# within the second the head holds the entries back: a node joins
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'late=1' >/dev/null
check "a second node joins" test $? -eq 0
touch "$MARK"
wait "$sub"
rc=$?
check "the job succeeds (rc $rc)" test $rc -eq 0
check_out "the new node read objects put before it joined" "$T/out" "read on it"
"$RAY" stop --temp-dir "$B" >/dev/null
"$RAY" stop --temp-dir "$A" >/dev/null
finish
