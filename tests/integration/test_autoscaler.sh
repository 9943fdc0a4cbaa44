# test_autoscaler.sh — the autoscaler for real, on hosts made of network
# namespaces with their own sshd (tests/integration/nshosts.sh): node types
# (available_node_types, head_node_type, resources, min/max_workers per
# type), the autoscaler launching the type that fits a demand and not
# another, an unreachable host of that type failing, retried with back-off
# and shown in `ray status` (Pending, Recent failures) while the demand is
# met by the next host, scale-down after idle_timeout_minutes (a fraction)
# but never below a type's min_workers, a worker holding the only copy of
# an object a running job still needs kept, a demand no type can meet shown
# with the autoscaler's reason, and the same scale-up / scale-down on
# providers gcp (an infeasible demand) and azure (a pending one: tasks
# behind a busy CPU), where machines are made and deleted by the autoscaler
# on the head through stand-ins for `gcloud` and `az` (the only stand-ins:
# no cloud is reachable here; SSH, rayd and Ray are real). Skipped (exit 77) where
# namespaces or sshd cannot be had.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nshosts.sh"

JOB=$ROOT/build/jobs/job_semantics.so
trap 'nshosts_cleanup; cleanup' EXIT
# RAY_UP_SSH_WAIT_S: the autoscaler on the head gives up on a host after 3 s
nshosts_setup 3 "RAY_UP_SSH_WAIT_S=3"
BAD=$NET.97 # nothing answers there
FLAGS="--object-store-memory=256MiB --heartbeat-interval-ms=200"
starts="head_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --head --port=6379 --temp-dir=\$HOME/tmp $FLAGS --autoscaling-config=~/ray_bootstrap_config.yaml
worker_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --address=\$RAY_HEAD_IP:6379 --temp-dir=\$HOME/tmp $FLAGS"
status() { "$RAY" exec "$1" 'ray status' 2>&1; }

# --- provider local with node types -----------------------------------------
cat >"$T/typed.yaml" <<EOF2
cluster_name: typed
provider:
    type: local
    head_ip: ${IPS[0]}
    worker_ips: [${IPS[1]}]
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
max_workers: 3
idle_timeout_minutes: 0.1
available_node_types:
    head:
        resources: {CPU: 1}
        max_workers: 0
    cpu:
        resources: {CPU: 1}
        min_workers: 1
        max_workers: 1
    bee:
        resources: {CPU: 1, bee: 2}
        node_config:
            worker_ips: [$BAD, ${IPS[2]}]
        max_workers: 2
head_node_type: head
$starts
EOF2
timeout 90 "$RAY" up -y "$T/typed.yaml" >"$T/up.out" 2>&1
rc=$?
check "ray up with node types starts the head and cpu's min_workers (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && grep -q 'head ${IPS[0]} and 1 worker(s)' '$T/up.out'"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/up.out"
check_out "... each node started with its type's resources" "$T/up.out" \
    "Starting Ray on ${IPS[1]} \(worker, type cpu: CPU=1\)"
status "$T/typed.yaml" >"$T/st0.out"
check_out "ray status: 2 CPUs in all (head 1, cpu 1: the types' resources, not the machine's)" \
    "$T/st0.out" "^ 0\.0/2\.0 CPU$"
check "ray status: no pending nodes and no failures yet" bash -c \
    "grep -A1 '^Pending:' '$T/st0.out' | grep -q '(no pending nodes)' && grep -A1 '^Recent failures:' '$T/st0.out' | grep -q '(no failures)'"
[ $FAILS -eq 0 ] || sed 's/^/      | /' "$T/st0.out"

# a task needing bee=1: only type bee fits; its first host is unreachable
timeout 90 "$RAY" submit "$T/typed.yaml" "$JOB" -- where bee=1 >"$T/bee.out" 2>&1 &
SUB=$!
pending_seen() { status "$T/typed.yaml" >"$T/stp.out"; grep -A3 '^Pending:' "$T/stp.out" | grep -q "$BAD: bee, setting up (infeasible demand {.*bee=1.*} x1"; }
wait_for 30 pending_seen
check "ray status shows the launching node, its type and the autoscaler's reason" pending_seen
grep -q "$BAD" "$T/stp.out" || sed 's/^/      | /' "$T/stp.out"
wait $SUB
rc=$?
check "the bee task runs once the autoscaler started a bee worker (rc=$rc)" bash -c "[ $rc -eq 0 ] && grep -q 'ran on' '$T/bee.out'"
[ $rc -eq 0 ] || { sed 's/^/      | /' "$T/bee.out"; status "$T/typed.yaml" | sed 's/^/      | /'; cat "$T/hosts/h0/.ray/autoscaler.log" | sed 's/^/      | /'; }
status "$T/typed.yaml" >"$T/st1.out"
id=$(sed -n 's/^ran on \([0-9a-f]*\).*/\1/p' "$T/bee.out")
check "... on the bee host ${IPS[2]}, not on the cpu host" grep -q "node_$id  ${IPS[2]}:" "$T/st1.out"
check_out "ray status lists the unreachable host under Recent failures, with its error and the retry" \
    "$T/st1.out" "^ $BAD: bee \(LaunchFailed [0-9]+ s ago: waiting for SSH: .*; retry 1 in 2 s\)"
ASLOG=$T/hosts/h0/.ray/autoscaler.log
check_out "the autoscaler's log: the failure and the back-off" "$ASLOG" "worker $BAD did not come up \(failure 1\); next try in 2 s"
check_out "... then the next bee host" "$ASLOG" "launching worker ${IPS[2]} \(type bee\)"
check "... and never a cpu host for a bee demand" bash -c "! grep -q 'launching worker ${IPS[1]}' '$ASLOG'"
check "3 active nodes ($(ns_active "$T/typed.yaml"))" test "$(ns_active "$T/typed.yaml")" -eq 3

# idle: the bee worker goes after 6 s; the cpu worker stays (its type's min_workers is 1)
wait_for 40 bash -c "[ \$(\"$RAY\" exec '$T/typed.yaml' 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_') -eq 2 ]"
status "$T/typed.yaml" >"$T/st2.out"
check "the idle bee worker is stopped: 2 active nodes" test "$(sed -n '/^Active:/,/^Dead:/p' "$T/st2.out" | grep -c ' node_')" -eq 2
check_out "... the autoscaler says so" "$ASLOG" "worker ${IPS[2]} idle for [0-9.]+ s: stopping it"
check "... the cpu worker, idle as long, stays: its type's min_workers" bash -c \
    "sed -n '/^Active:/,/^Dead:/p' '$T/st2.out' | grep -q ' ${IPS[1]}:' && ! grep -q 'worker ${IPS[1]} idle' '$ASLOG'"

# a worker whose object a running job still holds is not idle: kept until the job reads it
timeout 90 "$RAY" submit "$T/typed.yaml" "$ROOT/build/jobs/job_autoscale.so" -- hold bee=1 25000 >"$T/hold.out" 2>&1 &
SUB=$!
# the worker's second coming up (the first was for the bee task above)
wait_for 30 bash -c "[ \$(grep -c 'worker ${IPS[2]} is up' '$ASLOG') -ge 2 ]"
sleep 10 # past the idle timeout (6 s) after its task ended; the job reads at 25 s
status "$T/typed.yaml" >"$T/sthold.out"
wait $SUB
rc=$?
check "a job reads its 4 MiB object made on a bee worker after 25 s (rc=$rc)" bash -c "[ $rc -eq 0 ] && grep -q 'held object ok after 25000 ms' '$T/hold.out'"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/hold.out"
check "... the bee worker holding it was still up 10 s after it came up (not stopped as idle)" \
    bash -c "sed -n '/^Active:/,/^Dead:/p' '$T/sthold.out' | grep -q ' ${IPS[2]}:'"
check_out "... the autoscaler says why it kept it" "$ASLOG" "worker ${IPS[2]} is idle but it holds objects no other node has: kept"

# a demand no type can meet: said so in ray status, nothing launched
timeout 40 "$RAY" submit "$T/typed.yaml" "$JOB" -- where unobtainium=1 >"$T/unob.out" 2>&1 &
SUB=$!
unmet_seen() { status "$T/typed.yaml" >"$T/stu.out"; grep -q "^ {.*unobtainium=1.*}: the autoscaler cannot add a node for it: no node type of available_node_types can run it" "$T/stu.out"; }
wait_for 20 unmet_seen
check "ray status gives the autoscaler's reason for a demand no type can meet" unmet_seen
unmet_seen || sed 's/^/      | /' "$T/stu.out"
kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null

timeout 60 "$RAY" down -y "$T/typed.yaml" >"$T/down.out" 2>&1
check "ray down (rc=$?)" grep -q "all nodes stopped" "$T/down.out"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "nothing of Ray (nor the autoscaler) left on any host" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"

# --- provider gcp: the autoscaler makes and deletes machines ------------------
cloud_standins "$T"
CB=$T/cloudbin
printf '%s\n' "${IPS[0]}" "${IPS[1]}" >"$T/cloud.free"
export PATH="$CB:$PATH"
[ "$(command -v gcloud)" = "$CB/gcloud" ] || { fail "the stand-in is not the gcloud on PATH"; finish; }
cat >"$T/gauto.yaml" <<EOF2
cluster_name: gauto
provider:
    type: gcp
    project_id: test-project
    region: us-west1
    availability_zone: us-west1-a
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
max_workers: 1
idle_timeout_minutes: 0.1
available_node_types:
    head:
        resources: {CPU: 1}
        node_config: {machineType: n1-standard-1}
    bee:
        resources: {CPU: 1, bee: 1}
        node_config:
            machineType: zones/us-west1-a/machineTypes/n1-standard-2
        max_workers: 1
head_node_type: head
# the head needs the cloud's CLI for its autoscaler (on a real cloud: install it here)
head_setup_commands:
    - ln -sfn $CB/gcloud ~/.rayd/bin/gcloud
$starts
EOF2
timeout 90 "$RAY" up -y "$T/gauto.yaml" >"$T/gup.out" 2>&1
rc=$?
check "gcp: ray up makes the head machine alone (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && [ \$(grep -c 'instances create' '$T/gcloud.log') -eq 1 ] && grep -q 'instances create ray-gauto-head .*--machine-type=n1-standard-1' '$T/gcloud.log'"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/gup.out"
timeout 90 "$RAY" submit "$T/gauto.yaml" "$JOB" -- where bee=1 >"$T/gbee.out" 2>&1
rc=$?
check "gcp: a bee task runs once the autoscaler made a bee machine (rc=$rc)" bash -c "[ $rc -eq 0 ] && grep -q 'ran on' '$T/gbee.out'"
[ $rc -eq 0 ] || { sed 's/^/      | /' "$T/gbee.out"; cat "$T/hosts/h0/.ray/autoscaler.log" | sed 's/^/      | /'; cat "$T/gcloud.log"; }
check "... made from the head with gcloud, with the type's machine type" \
    grep -q "^gcloud compute instances create ray-gauto-worker-1 --project=test-project --zone=us-west1-a --labels=ray-cluster-name=gauto,ray-node-kind=worker --machine-type=n1-standard-2" "$T/gcloud.log"
check "gcp: 2 active nodes ($(ns_active "$T/gauto.yaml"))" test "$(ns_active "$T/gauto.yaml")" -eq 2
gone() { grep -q "instances delete ray-gauto-worker-1" "$T/gcloud.log" && [ "$(wc -l <"$T/cloud.machines")" -eq 1 ] && [ "$(ns_active "$T/gauto.yaml")" -eq 1 ]; }
wait_for 40 gone
check "gcp: idle, the worker is stopped and its machine deleted by the autoscaler" gone
check "... only the head machine is left" bash -c "[ \"\$(awk '{print \$1}' '$T/cloud.machines')\" = ray-gauto-head ]"
timeout 60 "$RAY" down -y "$T/gauto.yaml" >"$T/gdown.out" 2>&1
rc=$?
check "gcp: ray down deletes the head machine (rc=$rc)" bash -c "[ $rc -eq 0 ] && [ ! -s '$T/cloud.machines' ]"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "gcp: nothing of Ray left on any host" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"

# --- provider azure: a pending demand (tasks behind a busy CPU) adds a machine ---
printf '%s\n' "${IPS[0]}" "${IPS[1]}" >"$T/cloud.free"
: >"$T/cloud.machines"
cat >"$T/aauto.yaml" <<EOF2
cluster_name: aauto
provider:
    type: azure
    location: westus2
    resource_group: ray-test-rg
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
max_workers: 1
idle_timeout_minutes: 0.1
available_node_types:
    head:
        resources: {CPU: 1}
    cpu:
        resources: {CPU: 1}
        node_config:
            azure_arm_parameters: {vmSize: Standard_D2s_v3}
head_node_type: head
head_setup_commands:
    - ln -sfn $CB/az ~/.rayd/bin/az
$starts
EOF2
timeout 90 "$RAY" up -y "$T/aauto.yaml" >"$T/aup.out" 2>&1
rc=$?
check "azure: ray up makes the head machine alone (rc=$rc)" bash -c "[ $rc -eq 0 ] && [ \$(grep -c '^az vm create' '$T/az.log') -eq 1 ]"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/aup.out"
# 4 tasks of 3 s on one CPU: 3 of them wait behind the busy CPU (a pending demand)
timeout 90 "$RAY" submit "$T/aauto.yaml" "$JOB" -- spread 4 3000 >"$T/aspread.out" 2>&1
rc=$?
check "azure: the job's tasks all finish (rc=$rc)" bash -c "[ $rc -eq 0 ] && grep -q '4 tasks of 3000 ms' '$T/aspread.out'"
[ $rc -eq 0 ] || { sed 's/^/      | /' "$T/aspread.out"; tail -8 "$T/hosts/h0/.ray/autoscaler.log" | sed 's/^/      | /'; }
check_out "... the autoscaler launched a cpu worker for the pending demand" "$T/hosts/h0/.ray/autoscaler.log" \
    "pending demand \{CPU=1\} x[0-9]+, 0 worker\(s\) up: creating worker machine ray-aauto-worker-1 \(type cpu\) with az"
check "... with az, with the type's vmSize" grep -q "^az vm create --resource-group=ray-test-rg --name=ray-aauto-worker-1 .*--size=Standard_D2s_v3" "$T/az.log"
check_out "... and some of the tasks ran on it" "$T/aspread.out" "4 tasks of 3000 ms on 2 nodes"
agone() { grep -q "^az vm delete --resource-group=ray-test-rg --name=ray-aauto-worker-1" "$T/az.log" && [ "$(wc -l <"$T/cloud.machines")" -eq 1 ]; }
wait_for 40 agone
check "azure: idle, the worker machine is deleted by the autoscaler" agone
timeout 60 "$RAY" down -y "$T/aauto.yaml" >"$T/adown.out" 2>&1
rc=$?
check "azure: ray down deletes the head machine (rc=$rc)" bash -c "[ $rc -eq 0 ] && [ ! -s '$T/cloud.machines' ]"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "nothing of Ray left on any host at the end" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
finish
