# test_pool.sh — ray_pool (issue 15) end to end on a two-node cluster, as a
# user sees it: ordered and unordered maps, imap, apply_async, failed items
# named by index while the others complete, a dead pool actor replaced and
# its items retried once, and a pool whose actors live on the other node.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_pool.so
H=$T/head N2=$T/node2
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
start_node "$N2" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources '{"side": 4}' >/dev/null 2>&1
check "two nodes start" test -f "$N2/session_latest/rayd.pid"

sub() { local out=$1; shift; timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$out" 2>&1; }

sub "$T/map" map 1000
check_out "map: 980 ok, the 20 bad items failed, values right, in order" "$T/map" \
    '^map: 980 ok, 20 failed, 0 wrong values, 1000 of 1000 indices, in order$'
check_out "map: the failure names the item and its message" "$T/map" \
    '^failed: index 17 status task failed: item 17: bad item 17$'
check_out "map: the call says how many failed and the first" "$T/map" \
    '^map: rc task failed: 20 of 1000 items failed; the first: item 17: bad item 17$'

sub "$T/unord" unordered 1000
check_out "map_unordered: every index once, values right" "$T/unord" \
    '^unordered: 980 ok, 20 failed, 0 wrong values, 1000 of 1000 indices'
check_out "map_unordered: item 967 failed by index" "$T/unord" 'index 967 status task failed: item 967: bad item 967'

sub "$T/imap" imap 500
check_out "imap ordered: results in item order" "$T/imap" \
    '^imap ordered: 500 results, 10 failed, in order, last rc not found$'
check_out "imap unordered: all results" "$T/imap" '^imap unordered: 500 results, 10 failed'

sub "$T/apply" apply
check_out "apply_async: add(40, 2) = 42" "$T/apply" '^apply add\(40, 2\): success = 42$'
check_out "apply_async: a failing call gives its message" "$T/apply" \
    '^apply add\(40\): task failed: item 0: add wants two ints, got 1 values$'
check_out "an unknown function is refused by name" "$T/apply" \
    "^unknown: invalid argument: ray_pool: no remote function 'no_such_fn'"
check_out "a closed pool refuses work; join succeeds" "$T/apply" '^after close: invalid argument: ray_pool: the pool is closed$'
check_out "join" "$T/apply" '^join: success$'

sub "$T/str" str 200
check_out "STR results outlive the pool" "$T/str" '^str: success, 200 of 200 labels right after the pool was freed$'

sub "$T/lists" lists 300
check_out "LIST items in, MAP results out (outliving the pool)" "$T/lists" '^lists: success, 300 of 300 maps right$'

mkdir -p "$T/c1" "$T/c2"
sub "$T/once" crash_once "$T/c1"
check_out "an actor killed by item 7 is replaced and its items retried: all 40 ok" "$T/once" \
    '^crash_once: rc success, 40 of 40 ok, restarts 1$'
check_out "the pool works after the replacement" "$T/once" '^after: map of 10: success$'
sub "$T/always" crash_always "$T/c2"
check_out "an item that kills its actor twice fails alone, the 39 others complete" "$T/always" \
    '^crash_always: rc worker died, 39 of 40 ok, restarts 2$'
check_out "its failure names item 7 and the signal" "$T/always" \
    '^failed: index 7 status worker died: item 7: its pool actor died running it, twice: .*signal 6'
n7=$(grep -c '^failed:' "$T/always")
check "only item 7 failed ($n7 failures)" test "$n7" = 1

mkdir -p "$T/k"
sub "$T/kill" kill "$T/k" &
kpid=$!
wait_for 60 bash -c "ls '$T/k' | grep -q '^pid\.[0-9]*$'"
sleep 0.5
victim=$(ls "$T/k" | grep '^pid\.[0-9]*$' | head -1 | cut -d. -f2)
kill -9 "$victim" 2>/dev/null
check "a pool actor's worker ($victim) was killed mid-map" test -n "$victim"
wait $kpid
check_out "imap with a 1 ms timeout says so" "$T/kill" '^kill: first result within 1 ms: timed out$'
check_out "the killed actor was replaced and its items retried: all 300 ok, in order" "$T/kill" \
    '^kill: 300 of 300 ok, in order, restarts 1$'

sub "$T/nodes" nodes 400
check_out "four pool actors placed by a custom resource ran every item on the other node" "$T/nodes" \
    "^nodes: success, 400 of 400 ok on 1 node\\(s\\), not the driver's$"
finish
