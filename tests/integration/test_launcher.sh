# test_launcher.sh — `ray up` / `ray down` for real, over OpenSSH: three
# hosts made of network namespaces (veth pairs on a bridge, a private
# 10.213.x.0/24 subnet this test sets up), each running Debian's own sshd on
# its address only, with host keys and an authorized key the test makes,
# and its own $HOME (sshd SetEnv), so each host has its own ~/.rayd and
# ~/.ray as separate machines would. The launcher runs in the root namespace
# and reaches them exactly as it would reach machines: no stand-in anywhere.
# The hosts and the cloud stand-ins are tests/integration/nshosts.sh's.
# Covers: bad YAML (one-line errors), a three-host ray up, ray status on the
# head via ray exec (3 nodes), ray submit CLUSTER.yaml, file mounts,
# get-head-ip / get-worker-ips, rsync-up/down, an idempotent re-run (nothing
# re-copied, says so), ray down leaving no rayd/redis in any namespace,
# unreachable hosts, and the gcp and azure flows through stand-ins for their
# CLIs (the only stand-ins: no cloud is reachable here).
# Where namespaces or sshd cannot be had, the test is skipped (exit 77).
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
NSHOSTS_NET=10.213 # test_autoscaler's hosts are in 10.214.x: the two may run at once
source "$(dirname "$0")/nshosts.sh"
trap 'nshosts_cleanup; cleanup' EXIT
# host 2 has no rsync (its PATH is /usr/bin without it): the launcher falls back to scp there
mkdir -p "$T/norsync-bin"
for f in /usr/bin/*; do [ "${f##*/}" = rsync ] || ln -s "$f" "$T/norsync-bin/${f##*/}"; done
NSHOSTS_SETENV_2="PATH=$T/norsync-bin"
nshosts_setup 3

# --- bad YAML: one line each, naming file, line and key --------------------
bad() { # NAME EXPECTED-REGEX YAML
    printf '%s\n' "$3" >"$T/$1.yaml"
    "$RAY" up -y "$T/$1.yaml" >"$T/$1.out" 2>&1
    local rc=$?
    if [ $rc -ne 0 ] && [ "$(wc -l <"$T/$1.out")" -eq 1 ] && grep -Eq "$2" "$T/$1.out"; then
        ok "bad YAML ($1): $(cat "$T/$1.out")"
    else
        fail "bad YAML ($1): rc=$rc, wanted one line matching $2"; sed 's/^/      | /' "$T/$1.out"
    fi
}
bad no_name "no_name.yaml:1: missing key 'cluster_name'" $'provider:\n  type: local\n  head_ip: 1.2.3.4'
bad no_type "no_type.yaml:3: missing key 'provider.type'" $'cluster_name: x\n\nprovider:\n  head_ip: 1.2.3.4'
bad bad_type "bad_type.yaml:2: key 'max_workers': expected a whole number" $'cluster_name: x\nmax_workers: lots\nprovider: {type: local, head_ip: 1.2.3.4}'
bad bad_list "bad_list.yaml:3: key 'setup_commands': expected a list" $'cluster_name: x\nprovider: {type: local, head_ip: 1.2.3.4}\nsetup_commands: {a: b}'
bad bad_provider "bad_provider.yaml:3: key 'provider.type': unknown provider 'aws'" $'cluster_name: x\nprovider:\n  type: aws'
bad bad_indent "bad_indent.yaml:[0-9]+: bad YAML" $'cluster_name: x\nprovider:\n  type: local\n head_ip: 1.2.3.4'
printf 'cluster_name: w\nprovider: {type: local, head_ip: %s}\nauth: {ssh_user: root, ssh_private_key: %s}\nfavourite_colour: blue\nhead_start_ray_commands: []\n' \
    "${IPS[0]}" "$T/id_test" >"$T/warn.yaml"
"$RAY" get-head-ip "$T/warn.yaml" >"$T/warn.out" 2>"$T/warn.err"
check_out "an unknown key is one warning naming file, key and line" "$T/warn.err" \
    "warn.yaml:4: warning: unknown key 'favourite_colour' ignored"
check_out "... and the config still loads (get-head-ip)" "$T/warn.out" "^${IPS[0]}\$"

# --- a three-host ray up ----------------------------------------------------
mkdir -p "$T/mnt/data/sub"
echo "mounted file" >"$T/mnt/data/hello.txt"
echo "deep" >"$T/mnt/data/sub/deep.txt"
echo "single" >"$T/mnt/single.txt"
FLAGS="--num-cpus=1 --object-store-memory=256MiB --heartbeat-interval-ms=200"
cat >"$T/cluster.yaml" <<EOF
# a local-provider cluster of three namespace hosts
cluster_name: nstest
provider:
    type: local
    head_ip: ${IPS[0]}
    worker_ips: [${IPS[1]}, ${IPS[2]}]
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
max_workers: 2
idle_timeout_minutes: 5
file_mounts:
    "~/data": "$T/mnt/data"
    "~/conf/single.txt": "$T/mnt/single.txt"
rsync_exclude:
    - "**/.git"
initialization_commands:
    - echo init > ~/init.done
setup_commands:
    - echo "setup on \$(hostname -I)" > ~/setup.done
head_setup_commands: []
worker_setup_commands: []
head_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --head --port=6379 --temp-dir=\$HOME/tmp $FLAGS --autoscaling-config=~/ray_bootstrap_config.yaml
worker_start_ray_commands:
    - ray stop --temp-dir=\$HOME/tmp
    - ray start --address=\$RAY_HEAD_IP:6379 --temp-dir=\$HOME/tmp $FLAGS
EOF
t0=$SECONDS
timeout 90 "$RAY" up -y "$T/cluster.yaml" >"$T/up1.out" 2>&1
rc=$?
check "ray up brings up three hosts (rc=$rc, $((SECONDS - t0)) s)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/up1.out"
log "cluster_up_s (three hosts, from nothing to all nodes started): $(sed -n 's/.* worker(s) in \([0-9.]*\)s\.$/\1/p' "$T/up1.out")"
check_out "numbered progress lines per step and node" "$T/up1.out" "^\[5/7\] Running setup commands on ${IPS[2]}"
check_out "rayd was copied (not there before)" "$T/up1.out" "copied rayd to ${IPS[1]}:~/.rayd/bin"
check_out "a host without rsync gets the file mounts by scp" "$T/up1.out" "file mounts copied to ${IPS[2]} with scp \(no rsync there\)"
check_out "the Useful commands block" "$T/up1.out" "ray down $T/cluster.yaml"
for i in 0 1 2; do
    H=$T/hosts/h$i
    check "host $i: rayd and the ray link in ~/.rayd/bin, same bytes as ours" \
        bash -c "cmp -s '$H/.rayd/bin/rayd' '$RAYD' && [ \"\$(readlink '$H/.rayd/bin/ray')\" = rayd ]"
    check "host $i: the token is a 0600 file under ~/.ray" \
        bash -c "[ \"\$(stat -c %a '$H/.ray/auth_token')\" = 600 ] && cmp -s '$H/.ray/auth_token' '$HOME/.ray/clusters/nstest.token'"
    check "host $i: file mounts (a folder and a file) and the setup commands' output" \
        bash -c "cmp -s '$H/data/sub/deep.txt' '$T/mnt/data/sub/deep.txt' && cmp -s '$H/conf/single.txt' '$T/mnt/single.txt' && [ -s '$H/init.done' ] && grep -q '${IPS[$i]}' '$H/setup.done'"
done
check "the head got the bootstrap config and key, 0600" \
    bash -c "[ \"\$(stat -c %a '$T/hosts/h0/ray_bootstrap_key.pem')\" = 600 ] && cmp -s '$T/hosts/h0/ray_bootstrap_config.yaml' '$T/cluster.yaml'"
check "the token never was on a command line (not in the launcher's logs)" \
    bash -c "! grep -rqF \"\$(cat '$HOME/.ray/clusters/nstest.token')\" '$T/up1.out' $HOME/.ray/clusters/*.log"
check "the state file lists the three nodes" \
    bash -c "[ \$(grep -c '\"state\": \"up\"' '$HOME/.ray/clusters/nstest.json') -eq 3 ]"

"$RAY" exec "$T/cluster.yaml" 'ray status' >"$T/status.out" 2>&1
nodes=$(sed -n '/^Active:/,/^Dead:/p' "$T/status.out" | grep -c ' node_')
check "ray status on the head (ray exec) shows 3 live nodes (saw $nodes)" test "$nodes" -eq 3
[ "$nodes" -eq 3 ] || sed 's/^/      | /' "$T/status.out"
"$RAY" exec "$T/cluster.yaml" 'echo "$RAY_HEAD_IP"; exit 7' >"$T/exec.out" 2>&1
check "ray exec runs with RAY_HEAD_IP set and exits with the command's status" \
    bash -c "[ $? -eq 7 ] && grep -qx '${IPS[0]}' '$T/exec.out'"
echo 'echo "attached to $RAY_HEAD_IP as $(whoami)"' | "$RAY" attach "$T/cluster.yaml" >"$T/attach.out" 2>&1
check_out "ray attach gives a shell on the head" "$T/attach.out" "attached to ${IPS[0]} as root"
"$RAY" get-worker-ips "$T/cluster.yaml" >"$T/wips.out" 2>&1
check "get-worker-ips lists both workers" bash -c "[ \"\$(sort '$T/wips.out' | tr '\n' ' ')\" = '${IPS[1]} ${IPS[2]} ' ]"
timeout 60 "$RAY" submit "$T/cluster.yaml" "$JOB" -- spread 6 300 >"$T/submit.out" 2>&1
rc=$?
check "ray submit CLUSTER.yaml runs a job through the head (rc=$rc)" test $rc -eq 0
check_out "... its tasks run on all three hosts, output streamed back" "$T/submit.out" "6 tasks of 300 ms on 3 nodes"

echo "up and back" >"$T/roundtrip.txt"
"$RAY" rsync-up "$T/cluster.yaml" "$T/roundtrip.txt" "~/rt/roundtrip.txt" >/dev/null 2>&1 || true
"$RAY" rsync-up "$T/cluster.yaml" "$T/roundtrip.txt" "~/rt.txt" >"$T/rsu.out" 2>&1
"$RAY" rsync-down "$T/cluster.yaml" "~/rt.txt" "$T/back.txt" >"$T/rsd.out" 2>&1
check "rsync-up then rsync-down brings the file back" cmp -s "$T/roundtrip.txt" "$T/back.txt"

# --- an idempotent re-run: nothing re-copied, running nodes left alone ------
pid_before=$(cat "$T/hosts/h1/tmp/session_latest/rayd.pid" 2>/dev/null)
timeout 60 "$RAY" up -y --no-restart "$T/cluster.yaml" >"$T/up2.out" 2>&1
rc=$?
check "ray up again (--no-restart) succeeds (rc=$rc)" test $rc -eq 0
n=$(grep -c "is up to date .*not copied" "$T/up2.out")
check "rayd not re-copied to any of the 3 hosts, and it says so ($n)" test "$n" -eq 3
n=$(grep -c "file mounts on .* are up to date" "$T/up2.out")
check "file mounts not re-copied where rsync is, and it says so ($n)" test "$n" -eq 2
check_out "running nodes left alone" "$T/up2.out" "Ray already runs on ${IPS[1]}: left alone"
check "the worker's rayd is the same process" test "$pid_before" = "$(cat "$T/hosts/h1/tmp/session_latest/rayd.pid" 2>/dev/null)"

# --- down --workers-only keeps the head; up --restart-only brings them back ---
active() { "$RAY" exec "$T/cluster.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_'; }
timeout 60 "$RAY" down -y --workers-only "$T/cluster.yaml" >"$T/downw.out" 2>&1
rc=$?
check "ray down --workers-only succeeds (rc=$rc)" test $rc -eq 0
check "... the workers' rayd are gone, the head's is not" bash -c \
    "! kill -0 \$(cat '$T/hosts/h1/tmp/session_latest/rayd.pid' 2>/dev/null) 2>/dev/null && ! kill -0 \$(cat '$T/hosts/h2/tmp/session_latest/rayd.pid' 2>/dev/null) 2>/dev/null && kill -0 \$(cat '$T/hosts/h0/tmp/session_latest/rayd.pid')"
check "... and the head says 1 active node ($(active))" test "$(active)" -eq 1
timeout 60 "$RAY" up -y --restart-only "$T/cluster.yaml" >"$T/up3.out" 2>&1
rc=$?
check "ray up --restart-only succeeds (rc=$rc)" test $rc -eq 0
check_out "... skipping the setup commands" "$T/up3.out" "Skipping setup commands on ${IPS[2]} \(--restart-only\)"
wait_for 10 bash -c "[ \$(\"$RAY\" exec '$T/cluster.yaml' 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_') -eq 3 ]"
check "... and the cluster has 3 active nodes again ($(active))" test "$(active)" -eq 3

# --- ray down: nothing left in any namespace ---------------------------------
timeout 60 "$RAY" down -y "$T/cluster.yaml" >"$T/down.out" 2>&1
rc=$?
check "ray down succeeds (rc=$rc)" test $rc -eq 0
ns_ray_procs() {
    local ns p
    for ns in "${NSS[@]}"; do
        for p in $(ip netns pids "$ns"); do
            ps -o stat=,args= -p "$p" 2>/dev/null | awk '$1 !~ /^Z/' | grep -E 'rayd|redis|autoscaler' && return 0
        done
    done
    return 1
}
wait_for 10 bash -c "! $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs"
check "no rayd or redis-server left in any namespace" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "the state file is gone" test ! -e "$HOME/.ray/clusters/nstest.json"
"$RAY" get-worker-ips "$T/cluster.yaml" >/dev/null 2>"$T/gw.err"
check_out "get-worker-ips after down says the cluster is not up" "$T/gw.err" "not brought up from here"
timeout 90 "$RAY" exec --start --stop "$T/cluster.yaml" 'ray status | grep -c " node_"' >"$T/exss.out" 2>&1
rc=$?
check "ray exec --start --stop: up, the command, down (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && grep -q '^Cluster .nstest. is up' '$T/exss.out' && grep -qx 3 '$T/exss.out' && grep -q 'all nodes stopped' '$T/exss.out'"
[ $rc -eq 0 ] || tail -5 "$T/exss.out" | sed 's/^/      | /'

# --- unreachable hosts: one clear line, no hang, the others still come up ----
export RAY_UP_SSH_WAIT_S=4
sed "s/head_ip: ${IPS[0]}/head_ip: $NET.99/" "$T/cluster.yaml" >"$T/unreach.yaml"
t0=$SECONDS
timeout 60 "$RAY" up -y "$T/unreach.yaml" >"$T/unreach.out" 2>"$T/unreach.err"
rc=$?
check "an unreachable head fails in bounded time (rc=$rc, $((SECONDS - t0)) s)" \
    bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $((SECONDS - t0)) -lt 30 ]"
check_out "... with one line naming host and step" "$T/unreach.err" "^ray up: $NET.99 \(head\): waiting for SSH: .+"
sed "s/worker_ips: .*/worker_ips: [${IPS[1]}, $NET.98]/" "$T/cluster.yaml" >"$T/unreachw.yaml"
t0=$SECONDS
timeout 60 "$RAY" up -y "$T/unreachw.yaml" >"$T/unreachw.out" 2>"$T/unreachw.err"
rc=$?
check "an unreachable worker: ray up exits 1 in bounded time (rc=$rc, $((SECONDS - t0)) s)" \
    bash -c "[ $rc -eq 1 ] && [ $((SECONDS - t0)) -lt 40 ]"
check_out "... one line naming host and step" "$T/unreachw.err" "^ray up: $NET.98 \(worker\): waiting for SSH: .+"
check "... and nothing else but the summary on stderr" test "$(wc -l <"$T/unreachw.err")" -eq 2
n=$("$RAY" exec "$T/unreachw.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_')
check "... the head and the other worker came up ($n active nodes)" test "$n" -eq 2
check "... the state file says which failed" grep -q "\"$NET.98\", \"kind\": \"worker\", \"state\": \"failed\"" "$HOME/.ray/clusters/nstest.json"
timeout 60 "$RAY" down -y "$T/unreachw.yaml" >"$T/downu.out" 2>&1
rc=$?
check "ray down of that cluster succeeds, skipping the host that never came up (rc=$rc)" test $rc -eq 0
check_out "... and says so" "$T/downu.out" "$NET.98 is not reachable \(it never came up\): skipped"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "nothing of Ray left in any namespace" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
unset RAY_UP_SSH_WAIT_S

# --- the autoscaler: a demand no node can meet starts a worker; idle, it stops --
sed -e 's/^cluster_name: nstest/cluster_name: autotest/' -e 's/^max_workers: 2/max_workers: 2\nmin_workers: 0/' \
    -e 's/^idle_timeout_minutes: 5/idle_timeout_minutes: 0.1/' \
    -e '/^worker_start_ray_commands:/,$ s/\(ray start --address=.*\)$/\1 --resources=bee=1/' \
    "$T/cluster.yaml" >"$T/auto.yaml"
timeout 60 "$RAY" up -y "$T/auto.yaml" >"$T/auto1.out" 2>&1
rc=$?
check "autoscaling cluster: ray up starts the head alone, and the autoscaler (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && grep -q 'head ${IPS[0]} and 0 worker(s)' '$T/auto1.out' && grep -q 'autoscaler started on ${IPS[0]}' '$T/auto1.out'"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/auto1.out"
t0=$(date +%s.%N)
timeout 90 "$RAY" submit "$T/auto.yaml" "$JOB" -- where bee=1 >"$T/auto.sub" 2>&1
rc=$?
t1=$(date +%s.%N)
ASLOG=$T/hosts/h0/.ray/autoscaler.log
check "a task needing bee=1 (no node has it) runs once the autoscaler starts a worker (rc=$rc)" \
    bash -c "[ $rc -eq 0 ] && grep -q 'ran on' '$T/auto.sub'"
log "scale_up_s (the demand to its task done on the new node): $(echo "$t1 - $t0" | bc)"
check_out "... the autoscaler says why it launched" "$ASLOG" "infeasible demand \{[^}]*bee=1[^}]*\} x1, 0 worker\(s\) up: launching worker ${IPS[1]}"
[ $rc -eq 0 ] || tail -5 "$ASLOG" | sed 's/^/      | /'
active_auto() { "$RAY" exec "$T/auto.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_'; }
wait_for 40 bash -c "[ \$(\"$RAY\" exec '$T/auto.yaml' 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_') -eq 1 ]"
check "the worker, idle for idle_timeout_minutes (6 s), is stopped: 1 active node ($(active_auto))" test "$(active_auto)" -eq 1
check_out "... and the autoscaler says so" "$ASLOG" "worker ${IPS[1]} idle for [0-9.]+ s: stopping it"
timeout 60 "$RAY" down -y "$T/auto.yaml" >"$T/autod.out" 2>&1
check "ray down of the autoscaling cluster (rc=$?)" grep -q "all nodes stopped" "$T/autod.out"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "nothing of Ray (nor the autoscaler) left in any namespace" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"

# --- the cloud providers, through stand-ins for gcloud and az -----------------
# No cloud is reachable from this machine, so `gcloud` and `az` are stand-ins
# on PATH (the only stand-ins in this test): they record their arguments and
# hand out the namespace hosts above as the machines they "create", with the
# JSON the real CLIs print. Everything after that is real: SSH, rayd, Ray.
cloud_standins "$T"
CB=$T/cloudbin
printf '%s\n' "${IPS[@]}" >"$T/cloud.free"
starts=$(sed -n '/^head_start_ray_commands:/,$p' "$T/cluster.yaml")
cat >"$T/gcp.yaml" <<EOF2
cluster_name: gcptest
provider:
    type: gcp
    project_id: test-project
    region: us-west1
    availability_zone: us-west1-a
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
min_workers: 2
max_workers: 2
$starts
EOF2
mkdir -p "$T/nobin"
PATH="$T/nobin" "$RAY" up -y "$T/gcp.yaml" >"$T/nocli.out" 2>&1
check "gcp without gcloud on PATH: ray up fails" test $? -ne 0
check_out "... with one line saying what to install" "$T/nocli.out" "^ray up: provider gcp needs \`gcloud\`, which is not on PATH: install the Google Cloud CLI"
export PATH="$CB:$PATH"
# this machine may have a real gcloud or az: never let the test reach them
if [ "$(command -v gcloud)" != "$CB/gcloud" ] || [ "$(command -v az)" != "$CB/az" ]; then
    fail "the stand-ins are not the gcloud and az on PATH"; finish
fi
timeout 90 "$RAY" up -y "$T/gcp.yaml" >"$T/gcp1.out" 2>&1
rc=$?
check "gcp: ray up makes three machines with gcloud and brings them up (rc=$rc)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/gcp1.out"
check "... gcloud was asked for a head and two workers, with project, zone and labels" bash -c \
    "[ \$(grep -c '^gcloud compute instances create ray-gcptest-.* --project=test-project --zone=us-west1-a --labels=ray-cluster-name=gcptest,ray-node-kind=' '$T/gcloud.log') -eq 3 ]"
n=$("$RAY" exec "$T/gcp.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_')
check "gcp: ray status on the head shows 3 active nodes ($n)" test "$n" -eq 3
check_out "gcp: get-head-ip gives the machine gcloud made" <("$RAY" get-head-ip "$T/gcp.yaml" 2>&1) "^${IPS[0]}\$"
timeout 60 "$RAY" up -y --no-restart "$T/gcp.yaml" >"$T/gcp2.out" 2>&1
check "gcp: a re-run makes no new machine" bash -c "[ $? -eq 0 ] && [ \$(grep -c 'instances create' '$T/gcloud.log') -eq 3 ] && grep -q 'worker machine ray-gcptest-worker-2 (.*) exists' '$T/gcp2.out'"
timeout 60 "$RAY" down -y "$T/gcp.yaml" >"$T/gcpd.out" 2>&1
rc=$?
check "gcp: ray down stops Ray and deletes the three machines (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && [ \$(grep -c '^gcloud compute instances delete ray-gcptest-.* --zone=us-west1-a --quiet' '$T/gcloud.log') -eq 3 ] && [ ! -s '$T/cloud.machines' ]"
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/gcpd.out"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "gcp: nothing of Ray left in any namespace" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"

cat >"$T/azure.yaml" <<EOF2
cluster_name: aztest
provider:
    type: azure
    location: westus2
    resource_group: ray-test-rg
auth:
    ssh_user: root
    ssh_private_key: $T/id_test
min_workers: 1
$starts
EOF2
timeout 90 "$RAY" up -y "$T/azure.yaml" >"$T/az1.out" 2>&1
rc=$?
check "azure: ray up makes two machines with az and brings them up (rc=$rc)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/      | /' "$T/az1.out"
check "... az was asked with resource group, location, user, key and tags" bash -c \
    "[ \$(grep -c '^az vm create --resource-group=ray-test-rg --name=ray-aztest-.* --location=westus2 .*--admin-username=root --ssh-key-values=$T/id_test.pub --tags ray-cluster-name=aztest ray-node-kind=' '$T/az.log') -eq 2 ]"
n=$("$RAY" exec "$T/azure.yaml" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_')
check "azure: ray status on the head shows 2 active nodes ($n)" test "$n" -eq 2
timeout 60 "$RAY" down -y "$T/azure.yaml" >"$T/azd.out" 2>&1
rc=$?
check "azure: ray down deletes both machines (rc=$rc)" bash -c \
    "[ $rc -eq 0 ] && [ \$(grep -c '^az vm delete --resource-group=ray-test-rg --name=ray-aztest-.* --yes' '$T/az.log') -eq 2 ] && [ ! -s '$T/cloud.machines' ]"
wait_for 10 bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
check "nothing of Ray left in any namespace at the end" bash -c "! { $(declare -f ns_ray_procs); NSS=(${NSS[*]}); ns_ray_procs; }"
finish
