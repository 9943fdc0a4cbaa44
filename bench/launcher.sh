#!/usr/bin/env bash
# launcher.sh — the launcher's benchmarks (issue 12), over real SSH to hosts
# made of network namespaces (tests/integration/nshosts.sh; needs root):
#   cluster_up_s   a three-host `ray up` (head + 2 workers) from hosts with
#                  nothing of Ray (no rayd, no state) to all nodes started
#                  (ray up's own exit), timed from outside
#   scale_up_s     a pending demand to the new node running it: a job whose
#                  task needs a resource only a worker type has, on a cluster
#                  of the head alone, submitted on the head until its result
#                  (the autoscaler sees the demand, runs ray up's steps on a
#                  host, the node joins, the task runs there)
# Each is measured BENCH_RUNS times (default 3 here); prints one JSON line
# each (median, runs, min, max) on stdout; progress on stderr. Run by
# bench/run.sh (BENCH_ONLY=cluster_up_s,scale_up_s). Where namespaces or sshd
# cannot be had, the figures are null with a note.
# Usage: launcher.sh RAY TMPDIR
set -u
RAY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T=$2/launcher
mkdir -p "$T"
RUNS=${BENCH_RUNS:-3}
[ "$RUNS" -gt 3 ] && RUNS=3 # each run is a whole cluster: 3 is enough for a median
JOB=$ROOT/build/jobs/job_semantics.so
say() { printf 'bench: %s\n' "$*" >&2; }
null() { printf '{"benchmark": "%s", "value": null, "unit": "s", "note": "%s"}\n' "$1" "$2"; }
median() { # NAME VALUES...
    local name=$1; shift
    printf '%s\n' "$@" | sort -g | awk -v n="$name" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { printf "{\"benchmark\": \"%s\", \"value\": null, \"unit\": \"s\", \"note\": \"no measurement\"}\n", n; exit }
            med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "{\"benchmark\": \"%s\", \"value\": %.3f, \"unit\": \"s\", \"runs\": %d, \"min\": %.3f, \"max\": %.3f}\n", n, med, NR, v[1], v[NR]
        }'
}
now() { date +%s.%N; }
wait_for() { local end=$((SECONDS + $1)); shift; while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
[ -f "$JOB" ] || make -C "$ROOT" testjobs >/dev/null 2>&1
export HOME=$T/home
mkdir -p "$HOME"
TEMP_DIRS=()
source "$ROOT/tests/integration/nshosts.sh"
trap nshosts_cleanup EXIT
# nshosts_setup exits 77 where it cannot: say why in the JSON instead
if ! (nshosts_setup 1 >/dev/null 2>&1; r=$?; nshosts_cleanup; exit $r); then
    null cluster_up_s "no network namespaces or sshd here (needs root)"
    null scale_up_s "no network namespaces or sshd here (needs root)"
    exit 0
fi
nshosts_setup 3 >/dev/null
FLAGS="--object-store-memory=256MiB --heartbeat-interval-ms=200"
starts="head_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --head --port=6379 --temp-dir=\$HOME/tmp $FLAGS --autoscaling-config=~/ray_bootstrap_config.yaml
worker_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --address=\$RAY_HEAD_IP:6379 --temp-dir=\$HOME/tmp $FLAGS"
cat >"$T/up.yaml" <<EOF2
cluster_name: benchup
provider: {type: local, head_ip: ${IPS[0]}, worker_ips: [${IPS[1]}, ${IPS[2]}]}
auth: {ssh_user: root, ssh_private_key: $T/id_test}
$starts
EOF2
fresh() { local i; for i in 0 1 2; do rm -rf "$T/hosts/h$i/.rayd" "$T/hosts/h$i/.ray" "$T/hosts/h$i/tmp"; done; rm -rf "$HOME/.ray"; }

ups=()
for ((r = 0; r < RUNS; r++)); do
    fresh
    t0=$(now)
    if timeout 120 "$RAY" up -y "$T/up.yaml" >"$T/up$r.out" 2>&1; then
        ups+=("$(echo "$(now) - $t0" | bc)")
        say "cluster_up_s run $((r + 1)): ${ups[-1]} s"
    else
        say "ray up failed: $(tail -2 "$T/up$r.out" | tr '\n' ' ')"
    fi
    timeout 60 "$RAY" down -y "$T/up.yaml" >/dev/null 2>&1
done
median cluster_up_s "${ups[@]}"

cat >"$T/scale.yaml" <<EOF2
cluster_name: benchscale
provider: {type: local, head_ip: ${IPS[0]}, worker_ips: [${IPS[1]}]}
auth: {ssh_user: root, ssh_private_key: $T/id_test}
max_workers: 1
idle_timeout_minutes: 5
available_node_types:
    head: {resources: {CPU: 1}}
    bee: {resources: {CPU: 1, bee: 1}, max_workers: 1}
head_node_type: head
$starts
EOF2
active() { "$RAY" exec "$T/scale.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_'; }
fresh
scales=()
if timeout 120 "$RAY" up -y "$T/scale.yaml" >"$T/scale.out" 2>&1; then
    # the job library on the head once, so each run times only the job
    "$RAY" rsync-up "$T/scale.yaml" "$JOB" "~/bench_job.so" >/dev/null 2>&1
    for ((r = 0; r < RUNS; r++)); do
        # the head alone (the worker of the run before stopped)
        "$RAY" down -y --workers-only "$T/scale.yaml" >/dev/null 2>&1
        wait_for 30 bash -c "[ \$(\"$RAY\" exec '$T/scale.yaml' 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_') -eq 1 ]"
        out=$("$RAY" exec "$T/scale.yaml" \
            's=$(date +%s.%N); timeout 60 ray submit ~/bench_job.so -- where bee=1 >/dev/null 2>&1 && echo "$(date +%s.%N) - $s" | bc' 2>/dev/null | tail -1)
        if [ -n "$out" ]; then
            scales+=("$out")
            say "scale_up_s run $((r + 1)): $out s"
        else
            say "scale_up_s run $((r + 1)): the task did not run"
        fi
    done
else
    say "ray up (autoscaling cluster) failed: $(tail -2 "$T/scale.out" | tr '\n' ' ')"
fi
timeout 60 "$RAY" down -y "$T/scale.yaml" >/dev/null 2>&1
median scale_up_s "${scales[@]}"
