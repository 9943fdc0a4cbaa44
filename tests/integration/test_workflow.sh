# test_workflow.sh — ray_workflow (issue 15) end to end on a two-node
# cluster, as a user sees it: a 5-step diamond whose driver is killed (kill -9)
# mid-run and resumed by a new driver, every step that had finished run
# exactly once (side effects counted in a file); the same after ray stop +
# ray start; a failing step retried then failing the workflow with its
# message; a crashing step retried; cancel, list, delete; clear errors for an
# unknown ID, an ID in use, and a step returning a REF.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_workflow.so
H=$T/head N2=$T/node2 S=$T/store
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
N2ID=$(idof "$N2")

sub() { local out=$1; shift; timeout 90 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$out" 2>&1; }
count() { grep -c "^$1 " "$2" 2>/dev/null; }
nsteps() { ls "$S/$1/steps" 2>/dev/null | grep -c '^[0-9]*$'; }

# ---- kill -9 of the driver mid-workflow, then resume ------------------------------
SIDE=$T/side1 GATE=$T/gate1
sub "$T/run1" run "$S" wf1 "$SIDE" "$GATE" &
spid=$!
wait_for 60 bash -c "grep -q '^slow-started ' '$SIDE' && [ \$(ls '$S/wf1/steps' | grep -c '^[0-9]*\$') -ge 3 ]"
dpid=$(sed -n 's/^driver pid \([0-9]*\)$/\1/p' "$T/run1")
check "the driver ($dpid) runs the slow step after three checkpoints" test -n "$dpid" -a "$(nsteps wf1)" = 3
kill -9 "$dpid" 2>/dev/null
wait $spid
check "load, a and b had finished before the kill" \
    test "$(count load "$SIDE")$(count a "$SIDE")$(count b "$SIDE")" = 111
sub "$T/info1" info "$S" wf1
check_out "after the kill the workflow is RESUMABLE with 3 of 5 steps done" "$T/info1" \
    '^info wf1: RESUMABLE 3/5 steps$'
touch "$GATE"
sub "$T/res1" resume "$S" wf1
check_out "resume finishes it: output 26" "$T/res1" '^resume: success, output 26$'
check_out "then it is SUCCESSFUL, 5/5" "$T/res1" '^info wf1: SUCCESSFUL 5/5 steps$'
check "every finished step ran exactly once (load a b: $(count load "$SIDE") $(count a "$SIDE") $(count b "$SIDE"))" \
    test "$(count load "$SIDE")$(count a "$SIDE")$(count b "$SIDE")" = 111
check "the unfinished steps ran to the end: final once, slow at least once" \
    test "$(count final "$SIDE")" = 1 -a "$(count slow "$SIDE")" -ge 1
check "step a (resources side=1) ran on the second node" \
    grep -q "^a $N2ID\$" "$SIDE"
lines=$(wc -l <"$SIDE")
sub "$T/res1b" resume "$S" wf1
check_out "resuming a SUCCESSFUL workflow gives its output without running anything" "$T/res1b" \
    '^resume: success, output 26$'
check "no step ran again" test "$(wc -l <"$SIDE")" = "$lines"

sub "$T/unk" resume "$S" nope
check_out "resuming an unknown ID is a clear error" "$T/unk" \
    "^resume: not found: workflow 'nope' not found in $S\$"
sub "$T/badid" resume "$S" '../etc'
check_out "a bad ID is refused" "$T/badid" "^resume: invalid argument: workflow ID '../etc' is not valid"

# ---- a step that fails after its retries; a crash retried; a REF output ---------------
sub "$T/fail" fail "$S" wf2 "$T/side2"
check_out "a failing step fails the workflow with its message" "$T/fail" \
    "^fail: task failed: workflow 'wf2': step 'second' \\(wf_step\\) failed: .*bad input 7"
check_out "FAILED, 1 of 2 steps, with the message" "$T/fail" "^info wf2: FAILED 1/2 steps: workflow 'wf2': step 'second'"
check "it was tried 3 times (max_retries 2, retry_on_error)" test "$(count second-attempt "$T/side2")" = 3
check_out "running an ID that exists is refused" "$T/fail" \
    "^again: invalid argument: workflow 'wf2' already exists in $S \\(status FAILED\\): resume or delete it\$"
sub "$T/crash" crash "$S" wf3 "$T/side3" "$T/crashed3"
check_out "a step whose worker crashes once is retried: output 107" "$T/crash" '^crash: success, output 107$'
check "the crashed step finished once, the first step once" \
    test "$(count first "$T/side3")$(count second "$T/side3")" = 11
sub "$T/badref" badref "$S" wf4 "$T/side4"
check_out "a step returning a REF fails the workflow, saying why" "$T/badref" \
    "^badref: invalid argument: workflow 'wf4': step 'second' \\(wf_step\\) returned a REF or ACTOR"

# ---- cancel, resume of a canceled one, delete; list ----------------------------------
sub "$T/cancel" cancel "$S" wf5 "$T/side5" "$T/gate5"
check_out "run_async returns at once" "$T/cancel" '^run_async: success wf5$'
check_out "wait with a timeout says so" "$T/cancel" '^wait 100 ms: timed out$'
check_out "while its driver runs it, it is RUNNING" "$T/cancel" '^info wf5: RUNNING'
check_out "cancel" "$T/cancel" '^cancel: success$'
check_out "the run ends: canceled" "$T/cancel" "^wait: task failed: workflow 'wf5' was canceled\$"
check_out "CANCELED" "$T/cancel" '^info wf5: CANCELED'
check_out "a canceled workflow cannot be resumed" "$T/cancel" \
    "^resume: invalid argument: workflow 'wf5' was canceled; it cannot be resumed\$"
check_out "delete" "$T/cancel" '^delete: success$'
check_out "after delete: not found" "$T/cancel" "^info wf5: not found"
check "the final step of the canceled workflow never ran" test "$(count final "$T/side5")" = 0
touch "$T/gate5"
sub "$T/list" list "$S"
check_out "list: 4 workflows" "$T/list" '^list: success, 4 workflows$'
check_out "list: wf1 SUCCESSFUL, wf2 FAILED" "$T/list" '^list wf2 FAILED$'
check_out "list: wf3 SUCCESSFUL" "$T/list" '^list wf3 SUCCESSFUL$'

# ---- ray stop + ray start mid-workflow, then resume ------------------------------------
SIDE=$T/side6 GATE=$T/gate6
sub "$T/run6" run "$S" wf6 "$SIDE" "$GATE" &
spid=$!
wait_for 60 bash -c "grep -q '^slow-started ' '$SIDE' && [ \$(ls '$S/wf6/steps' | grep -c '^[0-9]*\$') -ge 3 ]"
"$RAY" stop --temp-dir "$N2" >/dev/null 2>&1
"$RAY" stop --temp-dir "$H" >/dev/null 2>&1
wait $spid
H2=$T/head2 N22=$T/node22
P=$(free_port)
start_head "$H2" "$P" --num-cpus 2 >/dev/null 2>&1
start_node "$N22" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources '{"side": 4}' >/dev/null 2>&1
H=$H2
check "the new cluster has both nodes" wait_for 30 two_nodes "$H" "$N22"
touch "$GATE"
sub "$T/res6" resume "$S" wf6
check_out "after ray stop + ray start, resume finishes it: output 26" "$T/res6" '^resume: success, output 26$'
check "load, a and b ran once across the restart" \
    test "$(count load "$SIDE")$(count a "$SIDE")$(count b "$SIDE")$(count final "$SIDE")" = 1111
finish
