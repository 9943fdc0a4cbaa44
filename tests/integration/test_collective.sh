# test_collective.sh — ray_collective (issue 15) end to end on a two-node
# cluster (two ranks on each node), as a user sees it: every collective
# checked against answers each rank computes itself (allreduce over the 4
# dtypes x 4 ops, direct and around the ring, reduce, broadcast, allgather, reducescatter, send/recv,
# barrier), two groups sharing actors used interleaved, and clear errors:
# a non-member, an unknown group, bad ranks, a rank that waits for others
# in vain (timeout), mismatched sizes, calls after destroy_group.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_collective.so
H=$T/head N2=$T/node2
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
start_node "$N2" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources '{"side": 4}' >/dev/null 2>&1
check "two nodes start" test -f "$N2/session_latest/rayd.pid"
# both nodes in the head's view before anything needs the second one
# and the second node knows the head: work placed on it before it does may
# wait forever for an argument held by the head (a core race, seen about
# once in ten fresh clusters; reported with issue 15)
two_nodes() {
    [ "$("$RAY" status --temp-dir "$1" 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_')" -eq 2 ] &&
        grep -q ', head) is in the cluster' "$2"/session_latest/logs/rayd.log
}
check "the head sees both nodes, the second node the head" wait_for 30 two_nodes "$H" "$N2"
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
HID=$(idof "$H") N2ID=$(idof "$N2")

sub() { local out=$1; shift; timeout 150 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$out" 2>&1; }

sub "$T/all" all
check_out "create_group" "$T/all" '^create g4: success$'
check_out "ranks 0 and 1 on the head" "$T/all" "^ok rank 1 node $HID\$"
check_out "ranks 2 and 3 on the other node" "$T/all" "^ok rank 3 node $N2ID\$"
check_out "allreduce: SUM, PRODUCT, MIN, MAX over int32, int64, float32, float64 all right" "$T/all" \
    '^allreduce: 16 dtype/op pairs, 0 wrong$'
check_out "allreduce of 12 MiB across the nodes" "$T/all" '^allreduce 12 MiB float32 SUM: 0 wrong$'
check_out "allreduce around the ring: every dtype and op right" "$T/all" \
    '^allreduce \(ring\): 16 dtype/op pairs, 0 wrong$'
check_out "ring allreduce of 12 MiB across the nodes" "$T/all" '^allreduce \(ring\) 12 MiB float32 SUM: 0 wrong$'
check_out "ring allreduce of fewer elements than ranks" "$T/all" \
    '^allreduce \(ring\) of 3 elements on 4 ranks: 0 wrong$'
check_out "allreduce of fewer elements than ranks" "$T/all" '^allreduce of 3 elements on 4 ranks: 0 wrong$'
check_out "reduce to a root (others' buffers untouched)" "$T/all" '^reduce to rank 2: 0 wrong$'
check_out "broadcast" "$T/all" '^broadcast from rank 3: 0 wrong$'
check_out "allgather" "$T/all" '^allgather: 0 wrong$'
check_out "reducescatter" "$T/all" '^reducescatter: 0 wrong$'
check_out "send/recv around a ring" "$T/all" '^send/recv ring, 5 rounds: 0 wrong$'
check_out "barrier holds every rank until the last arrives" "$T/all" \
    '^barrier: 0 wrong, no rank left before the last arrived$'

sub "$T/groups" groups
check_out "a second group over two of the actors" "$T/groups" '^create g2: success$'
check_out "two groups used interleaved stay independent" "$T/groups" '^two groups interleaved: 0 wrong$'
check_out "calls queued back to back (a handle per call) keep their order" "$T/groups" \
    '^6 calls each of broadcast, send/recv and allreduce queued at once: 0 wrong$'
check_out "ranks in g2 are the ones given" "$T/groups" '^g2: actor 2 is ok rank 1, actor 3 is ok rank 0$'
check_out "a group name in use is refused" "$T/groups" \
    "^create g4 again: invalid argument: collective group 'g4' already exists\$"

sub "$T/err" errors
check_out "a non-member cannot open the group" "$T/err" \
    "^non-member: actor 4: open: invalid argument: this actor is not a member of collective group 'g4'\$"
check_out "an unknown group" "$T/err" \
    "^no group: actor 0: open: not found: no collective group 'nope' \\(never created, or destroyed\\)\$"
check_out "a rank given twice" "$T/err" \
    "^create with rank 1 twice: invalid argument: collective group 'gbad': rank 1 of actor 2 is given twice\$"
check_out "world_size must match" "$T/err" '^create with world_size 3 and 4 actors: invalid argument'
check_out "a rank whose peers never call times out, naming one" "$T/err" \
    "^timeout: actor 1: timed out: collective group 'g4': timed out after 500 ms waiting for rank [023] "
check_out "mismatched sizes are named" "$T/err" \
    "^badsize: actor 1: invalid argument: collective group 'g4': rank 0 sent 40 bytes, this rank expected 44"
check_out "open outside an actor" "$T/err" \
    "^open in the driver: invalid argument: collective group 'g4': ray_collective_group_open must be called inside one of the group's actors\$"
check_out "destroy_group" "$T/err" '^destroy g4: success$'
n=$(grep -c "^after destroy: actor [0-3]: invalid argument: collective group 'g4' was destroyed\$" "$T/err")
check "every rank's call after destroy_group is refused clearly ($n of 4)" test "$n" = 4
check_out "opening a destroyed group" "$T/err" \
    "^open after destroy: actor 0: open: not found: no collective group 'g4'"
check_out "destroying it again" "$T/err" "^destroy g4 again: not found: no collective group 'g4'\$"
finish
