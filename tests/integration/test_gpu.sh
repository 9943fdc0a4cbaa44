# test_gpu.sh — GPUs as a resource: a node started with --num-gpus 2 (the
# count overrides detection, so this runs on machines without a GPU) gives
# a task that asks for one GPU a worker whose CUDA_VISIBLE_DEVICES names the
# device assigned to it; a task asking for more GPUs than any node has is
# infeasible. On a machine with NVIDIA GPUs the head also reports the
# detected count.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
start_head "$T/h" "$P" --num-cpus 2 --num-gpus 2 >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P
"$RAY" status >"$T/status" 2>&1
check_out "the head reports 2 GPUs" "$T/status" "^ 0.0/2.0 GPU"
timeout 60 "$RAY" submit --temp-dir "$T/h" "$JOB" -- gpu >"$T/out" 2>&1
check_out "a 1-GPU task sees CUDA_VISIBLE_DEVICES set to its device" "$T/out" "^CUDA_VISIBLE_DEVICES=[01]$"
# an actor's GPU slots come back when it restarts and when it dies
timeout 90 "$RAY" submit --temp-dir "$T/h" "$JOB" -- gpu_actor >"$T/out2" 2>&1
check_out "a 2-GPU actor sees both devices" "$T/out2" "^actor: CUDA_VISIBLE_DEVICES=0,1$"
check_out "restarted, it sees both again" "$T/out2" "^restarted actor: CUDA_VISIBLE_DEVICES=0,1$"
check_out "killed, it gives them to a 2-GPU task" "$T/out2" "^task after the actor: CUDA_VISIBLE_DEVICES=0,1$"
if [ -d /proc/driver/nvidia/gpus ]; then
    n=$(ls /proc/driver/nvidia/gpus | wc -l)
    start_head "$T/h2" "$(free_port)" --num-cpus 1 >/dev/null 2>&1
    "$RAY" status --temp-dir "$T/h2" --address "127.0.0.1:$(sed -n 's/^gcs_address=.*://p' "$T/h2/session_latest/node.info")" >"$T/status2" 2>&1
    check_out "GPU detection finds the machine's $n GPU(s)" "$T/status2" "^ 0.0/$n.0 GPU"
fi
"$RAY" stop --temp-dir "$T/h" >/dev/null
finish
