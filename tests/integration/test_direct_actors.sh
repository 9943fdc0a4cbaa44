# test_direct_actors.sh — actor calls a driver sends straight to the actor's
# worker (docs/direct.md "Actor calls"). One head (2 CPUs): 5,000 calls to
# an actor that checks their order, mixed with calls through the node (REF
# arguments) and sync ones, all right and in order; /metrics counts them as
# direct and by name (`ray list tasks` lists no actor call on either path);
# with RAY_DIRECT=0 the
# same calls all go through the node; an actor killed with calls
# unanswered: each is right or fails with RAY_EACTOR (the ones that ran
# first), and calls on the restarted actor succeed, also directly again.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_direct_actors.so
P=$(free_port) MP=$(free_port)
H=$T/head
# RAY_DIRECT_DEBUG=1: drivers (started by the node, with its environment)
# print what their direct path did when they end
RAY_DIRECT_DEBUG=1 start_head "$H" "$P" --num-cpus 2 --metrics-export-port "$MP" >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P
TOK=$(cat "$H"/session_latest/auth_token)
metric() { curl -s -m 10 -H "Authorization: Bearer $TOK" "http://127.0.0.1:$MP/metrics" | awk -v n="$1" 'index($0, n) == 1 {v = $NF} END {print v + 0}'; }
listed() { "$RAY" list tasks --limit 100000 2>/dev/null | awk -v n="$1" '$2 == n && $3 == "FINISHED"' | wc -l; }

d0=$(metric 'ray_direct_tasks_total{')
timeout 60 "$RAY" submit "$JOB" -- order 5000 >"$T/out.order" 2>&1
check_out "5,000 calls right and in order (direct, through the node, sync)" "$T/out.order" '^order ok 5000$'
check_out "the driver sent calls directly and some through the node" "$T/out.order" \
    '[1-9][0-9]* actor calls sent directly, [1-9][0-9]* to the node'
d1=$(metric 'ray_direct_tasks_total{')
check "/metrics counts the direct actor calls ($d0 -> $d1)" test "$d1" -gt "$((d0 + 2500))"
nx=$(metric 'ray_tasks{Name="seq.next",State="FINISHED"')
check "/metrics: ray_tasks counts the direct calls by name, seq.next FINISHED ($nx)" \
    test "$nx" -ge "$((d1 - d0))"
n=$(listed seq.next)
check "ray list tasks lists no actor call, as on the node's path ($n)" test "$n" -eq 0

timeout 60 "$RAY" submit "$JOB" -- order 2000 node >"$T/out.node" 2>&1
check_out "RAY_DIRECT=0: 2,000 calls right and in order" "$T/out.node" '^order ok 2000$'
d2=$(metric 'ray_direct_tasks_total{')
check "RAY_DIRECT=0: no call went directly ($d1 -> $d2)" test "$d2" -eq "$d1"

timeout 60 "$RAY" submit "$JOB" -- kill 300 >"$T/out.kill" 2>&1
check_out "killed with calls unanswered: the first ran, the rest RAY_EACTOR; the restarted actor answers" \
    "$T/out.kill" '^kill ok [0-9]+ ran, [1-9][0-9]* failed$'
check_out "the killed actor's direct socket was lost, and it was granted again after its restart" \
    "$T/out.kill" 'actors: ([2-9]|[1-9][0-9]+) granted, [0-9]+ refused, [1-9][0-9]* lost'

"$RAY" stop --temp-dir "$H" >/dev/null
finish
