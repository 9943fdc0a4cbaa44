# test_tune.sh — ray_tune (issue 15) as a user sees it, on a synthetic
# objective with a known best, loss = (x - 3)^2 + [kind != good] + 1/iteration:
# a grid search and a seeded random search find the known best; ASHA stops
# the bad trials early (fewer iterations than max_t) and keeps the best to
# max_t; PBT (checkpoints as objects, clone + perturb) beats random search
# with the same seed; a trial that crashes or fails is reported and the search goes on;
# the table is written as CSV and JSON.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_tune.so
H=$T/head
P=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
check "head starts" test -f "$H/session_latest/rayd.pid"
sub() { local out=$1; shift; timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- "$@" >"$out" 2>&1; }

mkdir -p "$T/res"
sub "$T/grid" grid "$T/res"
check_out "grid: 10 trials ran to max_t" "$T/grid" '^9 +5 +good +TERMINATED +10 '
check_out "grid: the best config is x=3 kind=good" "$T/grid" '^best trial: 5, loss 0.1, config: x=3 kind=good$'
check "grid: STORAGE_PATH/grid/results.csv has a header and 10 rows" \
    bash -c "[ \"\$(head -1 '$T/res/grid/results.csv')\" = 'trial,x,kind,status,iterations,last,best,error' ] && [ \$(wc -l <'$T/res/grid/results.csv') -eq 11 ]"
check_out "grid: results.json names the best trial" "$T/res/grid/results.json" '"best_trial": 5, "trials"'
check_out "grid: the table says where the files are" "$T/grid" "^results: $T/res/grid/results.csv, results.json$"

sub "$T/random" random
check_out "random: every sample within its range; the best is the known best" "$T/random" \
    '^random: samples in range: yes; best trial is the known best: yes$'
check_out "random: 12 trials" "$T/random" '^11 +[0-9.]+ +(good|bad) '
check "random: without storage_path the files are under the session dir" \
    test -s "$H/session_latest/tune/random/results.csv" -a -s "$H/session_latest/tune/random/results.json"
sub "$T/random2" random
check "random: the same seed gives the same table" \
    bash -c "diff <(grep -E '^[0-9]+ ' '$T/random' | awk '{print \$2,\$3,\$4,\$5}') <(grep -E '^[0-9]+ ' '$T/random2' | awk '{print \$2,\$3,\$4,\$5}')"

sub "$T/asha" asha
check_out "asha: bad trials stopped early, fewer iterations than FIFO" "$T/asha" \
    '^asha: [1-7] of 8 trials stopped early; [0-9]+ iterations in all \(FIFO: 256\)$'
check_out "asha: the best (x=3) ran all 32 iterations" "$T/asha" '^asha: best x=3 ran 32 iterations$'
check_out "asha: the worst (x=7) was stopped before max_t" "$T/asha" '^7 +7 +STOPPED +([1-9]|[12][0-9]|3[01]) '
check_out "asha: the table says so" "$T/asha" '^best trial: 3, loss 0.03125, config: x=3$'

sub "$T/pbt" pbt
check_out "random search (seed 11) scores below the optimum" "$T/pbt" '^random: rc success, best score 0\.9[0-9]+ '
check_out "PBT (same seed) clones and perturbs, and beats random search" "$T/pbt" \
    '^pbt: best score [0-9.]+ \(lr now [0-9.e-]+\), [1-9][0-9]* exploits; pbt beats random: yes$'
check_out "PBT's table shows the configs trials ended with" "$T/pbt" '^best trial: [0-7], score 0\.99'

sub "$T/errors" errors
check_out "a crashed trial is reported with its signal" "$T/errors" \
    '^errored: trial 2 x=5: actor is dead: .*killed by signal 6'
check_out "a failed trial is reported with its message" "$T/errors" \
    '^errored: trial 3 x=6: task failed: .*: x = 6 diverged$'
n=$(grep -c '^errored' "$T/errors")
check "only those two errored ($n)" test "$n" = 2
check_out "the search went on: the 3 others terminated, best x=3" "$T/errors" '^errors: rc success, 3 of 5 trials terminated, best x=3$'
check_out "a missing metric is refused" "$T/errors" '^no metric: invalid argument: ray_tune_run: opts.metric is required$'
check_out "an unknown trainable is refused by name" "$T/errors" "^unknown trainable: invalid argument: .*'nope'"
check_out "a bad space names the parameter" "$T/errors" "^bad space: invalid argument: ray_tune_run: parameter 'lr' wants 0 < lo < hi$"

# Not yet: trials on a second node (job_tune.so's "remote" mode, trials
# placed with a custom resource only that node has). An actor's ray_get of
# a call it made to an actor on another node times out in the core today
# (a task doing the same works), so such trials hang in their first report.
finish
