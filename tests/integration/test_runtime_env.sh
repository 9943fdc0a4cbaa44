# test_runtime_env.sh — runtime environments on three nodes (127.0.0.1-3):
# `ray submit --runtime-env-json` env_vars and `--working-dir` reach the
# driver, tasks (on the head and on another node) and actors before the job
# library loads; a call's runtime_env overrides the job's variable by
# variable on a worker of its own (never shared); bad runtime_env in a call
# is RAY_EINVAL naming the key; bad flags (not JSON, unknown key, missing
# directory, a directory past the size limit) are one `ray submit` error
# line naming the key, a non-zero exit, and no job runs.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_renv.so
P=$(free_port)
A=$T/a B=$T/b C=$T/c
FLAGS=(--num-cpus 2 --heartbeat-interval-ms 200 --node-timeout-ms 2000)
start_head "$A" "$P" "${FLAGS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" "${FLAGS[@]}" --resources 'bee=1' >/dev/null 2>&1
start_node "$C" 127.0.0.3 "127.0.0.1:$P" "${FLAGS[@]}" >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
check "three nodes up" test -n "$(idof "$A")" -a -n "$(idof "$B")" -a -n "$(idof "$C")"
export RAY_ADDRESS=127.0.0.1:$P
sleep 0.6

WD=$T/wd
mkdir -p "$WD/sub"
echo "payload-42" >"$WD/data.txt"
echo nested >"$WD/sub/more.txt"
ENV='{"env_vars": {"GREETING": "hello", "OTHER": "x"}}'
timeout 120 "$RAY" submit --temp-dir "$A" --runtime-env-json "$ENV" --working-dir "$WD" "$JOB" -- bee=1 \
    >"$T/out.ok" 2>&1
rc=$?
O=$T/out.ok
check "the job succeeds (rc $rc)" test "$rc" -eq 0
check_out "the driver has env_vars and runs in the working dir" "$O" "^driver: GREETING=hello OTHER=x data=payload-42"
check_out "so does a task" "$O" "^task: GREETING=hello OTHER=x data=payload-42"
check_out "a task's runtime_env overrides GREETING, keeps OTHER" "$O" "^task with its own env: GREETING=override OTHER=x data=payload-42"
check_out "on a worker of its own" "$O" "^different environments, different workers: yes"
check_out "which the job's own tasks never reuse" "$O" "^a worker of the other environment was reused: no"
check_out "a task on another node gets env_vars and the working dir" "$O" "^task on another node: GREETING=hello OTHER=x data=payload-42"
check_out "an actor's runtime_env merges over the job's" "$O" "^actor: GREETING=hello OTHER=actor data=payload-42"
check_out "a wrong type in a call's env_vars is RAY_EINVAL naming it" "$O" "^bad runtime_env 0: RAY_EINVAL: runtime_env.env_vars.A must be a string"
check_out "an unknown key is RAY_EINVAL naming it" "$O" "^bad runtime_env 1: RAY_EINVAL: runtime_env: unknown key 'pip'"
check_out "text that is not JSON is RAY_EINVAL saying so" "$O" "^bad runtime_env 2: RAY_EINVAL: runtime_env is not JSON"
check_out "a per-call working_dir is refused, as in Ray" "$O" "^bad runtime_env 3: RAY_EINVAL: runtime_env.working_dir cannot be set for one task"
n=$(ls "$B"/session_latest/runtime_resources/working_dir_files/ 2>/dev/null | grep -vc '\.tmp\.')
check "the working dir was unpacked once on node B ($n)" test "$n" -eq 1
check "with its subfolders" test -f "$(ls -d "$B"/session_latest/runtime_resources/working_dir_files/*/ | head -1)/sub/more.txt"

# a standalone driver: ray_config.runtime_env packs and sends its working_dir
DRV=$T/renv_driver
cc -std=gnu11 ${SANITIZE:+-fsanitize=$SANITIZE} -I"$ROOT/include" "$ROOT/tests/integration/drivers/renv_driver.c" -rdynamic -L"$ROOT/lib" -lray \
    -lpthread -ldl -lm -o "$DRV"
check "the standalone driver builds against libray.a" test -x "$DRV"
echo "standalone-data" >"$T/wd2.txt"
mkdir -p "$T/wd2" && mv "$T/wd2.txt" "$T/wd2/data.txt"
timeout 60 "$DRV" "127.0.0.1:$P" "$JOB" "{\"env_vars\": {\"GREETING\": \"solo\"}, \"working_dir\": \"$T/wd2\"}" \
    >"$T/out.drv" 2>&1
check_out "its task has the env_vars and runs in the uploaded working dir" "$T/out.drv" \
    "^standalone task: GREETING=solo OTHER=\(unset\) data=standalone-data"
timeout 60 "$DRV" "127.0.0.1:$P" "$JOB" '{"env_vars": {"GREETING": 3}}' >"$T/out.drv_bad" 2>&1
check_out "a bad runtime_env in ray_config is RAY_EINVAL from ray_init naming the key" "$T/out.drv_bad" \
    "^ray_init: invalid argument: runtime_env.env_vars.GREETING must be a string"
timeout 60 "$DRV" "127.0.0.1:$P" "$JOB" "{\"working_dir\": \"$T/none\"}" >"$T/out.drv_nodir" 2>&1
check_out "a missing working_dir is RAY_EINVAL naming it" "$T/out.drv_nodir" \
    "^ray_init: invalid argument: runtime_env.working_dir: '$T/none' is not a directory"

# bad flags: one error line naming the key, non-zero exit, no job
jobs_before=$("$RAY" list jobs --format json 2>/dev/null | grep -o '"job_id"' | wc -l)
bad() {
    local name=$1 want=$2; shift 2
    timeout 60 "$RAY" submit --temp-dir "$A" "$@" "$JOB" >"$T/out.$name" 2>&1
    local rc=$?
    check "$name: ray submit exits non-zero ($rc)" test "$rc" -ne 0
    check_out "$name: the error names it" "$T/out.$name" "$want"
    check "$name: one line" test "$(wc -l <"$T/out.$name")" -eq 1
}
bad notjson "^ray submit: --runtime-env-json: runtime_env is not JSON" --runtime-env-json '{"env_vars": '
bad unknown "unknown key 'conda'" --runtime-env-json '{"conda": "env"}'
bad wrongtype "runtime_env.env_vars.N must be a string" --runtime-env-json '{"env_vars": {"N": 5}}'
bad nodir "runtime_env.working_dir: '$T/nope' is not a directory" --runtime-env-json "{\"working_dir\": \"$T/nope\"}"
bad noflagdir "submit: .-working-dir: '$T/nope' is not a directory" --working-dir "$T/nope"
head -c 200000 /dev/urandom >"$WD/big.bin"
RAY_WORKING_DIR_MAX_BYTES=100000 bad toobig "runtime_env.working_dir: .* packs to more than the 100000-byte limit" --working-dir "$WD"
jobs_after=$("$RAY" list jobs --format json 2>/dev/null | grep -o '"job_id"' | wc -l)
check "no job ran for the bad submissions ($jobs_before -> $jobs_after)" test "$jobs_before" -eq "$jobs_after"

finish
