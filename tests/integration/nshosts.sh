# nshosts.sh — test hosts made of network namespaces, for the launcher's
# tests and benchmark (sourced after lib.sh: uses $T, $RAY). N namespaces,
# veth pairs on a bridge in a private 10.213.x.0/24 subnet of their own,
# each running Debian's own sshd on its address only, with host keys and an
# authorized key made here ($T/id_test), and its own $HOME ($T/hosts/hI,
# through sshd's SetEnv), so each has its own ~/.rayd and ~/.ray as
# separate machines would. The launcher reaches them over real SSH.
#
#   nshosts_setup N [EXTRA_SETENV]   make them: NSS[], IPS[], NET; exit 77 if impossible
#                                    ($NSHOSTS_SETENV_I: more SetEnv words for host I only)
#   nshosts_cleanup                  stop their nodes and sshd, remove them
#   ns_ray_procs                     true while rayd/redis/autoscaler run in any of them
#   cloud_standins DIR               stand-ins for gcloud and az in DIR (see below)

SSHD=/usr/sbin/sshd
NS_TAG=$$
# NSHOSTS_NET: the first two octets (tests that may run at once use their own)
NET=${NSHOSTS_NET:-10.214}.$((RANDOM % 200 + 20))
NS_BR=rlbr$NS_TAG
NSS=()
IPS=()
SSHD_PIDS=()

nshosts_cleanup() {
    local p ns i
    # whatever a failed test left on the hosts: their own nodes, by temp dir
    for i in "${!NSS[@]}"; do "$RAY" stop --force --temp-dir "$T/hosts/h$i/tmp" >/dev/null 2>&1; done
    for p in "${SSHD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${SSHD_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    for ns in "${NSS[@]}"; do
        # sessions of sshd still open in the namespace (ours only: nothing else lives there)
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    ip link del "$NS_BR" 2>/dev/null
    for i in "${!NSS[@]}"; do ip link del "vl$((i + 1))$NS_TAG" 2>/dev/null; done
}

nshosts_setup() { # N [EXTRA SetEnv words for every host]
    local n=$1 extra=${2:-} i ns name san_env=
    # the sanitizers' settings of lib.sh reach the daemons started over ssh
    # too (without them a node started by the launcher would report leaks at
    # exit, which no other node of the suite does)
    [ -n "${ASAN_OPTIONS:-}" ] && san_env="ASAN_OPTIONS=$ASAN_OPTIONS"
    [ -n "${UBSAN_OPTIONS:-}" ] && san_env="$san_env UBSAN_OPTIONS=$UBSAN_OPTIONS"
    [ -x "$SSHD" ] || { echo "  skip: no $SSHD (scripts/install-deps.sh installs openssh-server)"; exit 77; }
    command -v rsync >/dev/null || { echo "  skip: no rsync"; exit 77; }
    for ((i = 0; i < n; i++)); do
        NSS+=("rayh$((i + 1))-$NS_TAG")
        IPS+=("$NET.$((11 + i))")
    done
    if ! ip netns add "${NSS[0]}" 2>/dev/null; then
        NSS=()
        echo "  skip: network namespaces are not permitted here"
        exit 77
    fi
    for ((i = 1; i < n; i++)); do ip netns add "${NSS[$i]}"; done
    ip link add "$NS_BR" type bridge && ip addr add "$NET.1/24" dev "$NS_BR" && ip link set "$NS_BR" up
    for ((i = 0; i < n; i++)); do
        name=$((i + 1)) ns=${NSS[$i]}
        ip link add "vl$name$NS_TAG" type veth peer name "pl$name$NS_TAG"
        ip link set "pl$name$NS_TAG" netns "$ns"
        ip link set "vl$name$NS_TAG" master "$NS_BR" up
        ip netns exec "$ns" ip addr add "${IPS[$i]}/24" dev "pl$name$NS_TAG"
        ip netns exec "$ns" ip link set "pl$name$NS_TAG" up
        ip netns exec "$ns" ip link set lo up
    done
    [ -f "$T/id_test" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/id_test" -C rayd-launcher-test
    cp "$T/id_test.pub" "$T/authorized_keys"
    chmod 600 "$T/authorized_keys"
    mkdir -p /run/sshd && chmod 755 /run/sshd
    for ((i = 0; i < n; i++)); do
        local H=$T/hosts/h$i
        mkdir -p "$H"
        ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey$i"
        cat >"$T/sshd_config$i" <<EOF2
ListenAddress ${IPS[$i]}:22
HostKey $T/hostkey$i
PidFile $T/sshd$i.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
SetEnv HOME=$H $san_env $extra $(v=NSHOSTS_SETENV_$i; echo "${!v:-}")
Subsystem sftp internal-sftp
EOF2
        ip netns exec "${NSS[$i]}" "$SSHD" -D -e -f "$T/sshd_config$i" 2>"$T/sshd$i.log" &
        SSHD_PIDS+=($!)
        TEMP_DIRS+=("$H/tmp")
    done
    if ! wait_for 10 nshosts_sshd_up; then
        echo "  skip: sshd did not start in the namespaces: $(tail -2 "$T"/sshd*.log | tr '\n' ' ')"
        exit 77
    fi
}

nshosts_sshd_up() { local ip; for ip in "${IPS[@]}"; do timeout 2 bash -c "echo >/dev/tcp/$ip/22" 2>/dev/null || return 1; done; }

ns_ray_procs() {
    local ns p
    for ns in "${NSS[@]}"; do
        for p in $(ip netns pids "$ns"); do
            ps -o stat=,args= -p "$p" 2>/dev/null | awk '$1 !~ /^Z/' | grep -E 'rayd|redis|autoscaler' && return 0
        done
    done
    return 1
}

# Active nodes in `ray status` on the head of cluster config $1 (through ray exec).
ns_active() { "$RAY" exec "$1" 'ray status' 2>/dev/null | sed -n '/^Active:/,/^Dead:/p' | grep -c ' node_'; }

# No cloud is reachable from the test machine, so `gcloud` and `az` are
# stand-ins (the only ones: everything after "the machine exists" is real
# SSH, rayd and Ray). They record their arguments in $DIR/gcloud.log and
# $DIR/az.log and hand out the addresses listed in $DIR/cloud.free as the
# machines they create, printing the JSON the real CLIs print. Their state
# ($DIR/cloud.machines) is a file, so calls from the head (the autoscaler)
# and from here see the same machines; calls take a lock, as they come in
# parallel.
cloud_standins() { # DIR (the stand-ins go to DIR/cloudbin)
    local D=$1 CB=$1/cloudbin
    mkdir -p "$CB"
    : >"$D/cloud.machines"
    cat >"$CB/gcloud" <<EOF2
#!/bin/bash
# stand-in for the Google Cloud CLI (see tests/integration/nshosts.sh)
D=$D
EOF2
    cat >>"$CB/gcloud" <<'EOF2'
exec 9>"$D/cloud.lock"; flock 9
echo "gcloud $*" >>"$D/gcloud.log"
db=$D/cloud.machines free=$D/cloud.free
opt() { local a; for a in "$@"; do case $a in --$want=*) echo "${a#--$want=}";; esac; done; }
json() { # NAME IP KIND CLUSTER
    printf '{"name": "%s", "status": "RUNNING", "zone": "z", "labels": {"ray-cluster-name": "%s", "ray-node-kind": "%s"}, "networkInterfaces": [{"network": "default", "networkIP": "%s", "accessConfigs": []}]}' "$1" "$4" "$3" "$2"
}
case "$1 $2 $3" in
"compute instances create")
    name=$4; want=labels; labels=$(opt "$@"); want=zone; zone=$(opt "$@")
    [ -n "$zone" ] || { echo "ERROR: (gcloud.compute.instances.create) no zone" >&2; exit 1; }
    cluster=${labels#ray-cluster-name=}; cluster=${cluster%%,*}; kind=${labels##*ray-node-kind=}
    ip=$(head -1 "$free"); sed -i 1d "$free"
    [ -n "$ip" ] || { echo "ERROR: (gcloud.compute.instances.create) Quota 'INSTANCES' exceeded." >&2; exit 1; }
    echo "$name $ip $kind $cluster" >>"$db"
    echo "["; json "$name" "$ip" "$kind" "$cluster"; echo "]";;
"compute instances list")
    want=filter; c=$(opt "$@"); c=${c#labels.ray-cluster-name=}
    echo "["; sep=""
    while read -r n i k cl; do [ "$cl" = "$c" ] || continue; printf '%s' "$sep"; json "$n" "$i" "$k" "$cl"; sep=$',\n'; done <"$db"
    echo "]";;
"compute instances delete")
    name=$4; line=$(grep "^$name " "$db") || { echo "ERROR: (gcloud.compute.instances.delete) not found: $name" >&2; exit 1; }
    grep -v "^$name " "$db" >"$db.new"; mv "$db.new" "$db"
    echo "$line" | awk '{print $2}' >>"$free"; echo "Deleted [$name]." >&2;;
*) echo "ERROR: (gcloud) unexpected: $*" >&2; exit 2;;
esac
EOF2
    cat >"$CB/az" <<EOF2
#!/bin/bash
# stand-in for the Azure CLI (see tests/integration/nshosts.sh)
D=$D
EOF2
    cat >>"$CB/az" <<'EOF2'
exec 9>"$D/cloud.lock"; flock 9
echo "az $*" >>"$D/az.log"
db=$D/cloud.machines free=$D/cloud.free
opt() { local a; for a in "$@"; do case $a in --$want=*) echo "${a#--$want=}";; esac; done; }
case "$1 $2" in
"vm create")
    want=name; name=$(opt "$@"); want=resource-group; rg=$(opt "$@")
    cluster=$(printf '%s\n' "$@" | sed -n 's/^ray-cluster-name=//p'); kind=$(printf '%s\n' "$@" | sed -n 's/^ray-node-kind=//p')
    ip=$(head -1 "$free"); sed -i 1d "$free"
    [ -n "$ip" ] || { echo "ERROR: Operation could not be completed as it results in exceeding quota." >&2; exit 1; }
    echo "$name $ip $kind $cluster" >>"$db"
    printf '{"fqdns": "", "id": "/subscriptions/x/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", "location": "westus2", "powerState": "VM running", "privateIpAddress": "%s", "publicIpAddress": "", "resourceGroup": "%s"}\n' "$rg" "$name" "$ip" "$rg";;
"vm list")
    echo "["; sep=""
    while read -r n i k cl; do printf '%s{"name": "%s", "privateIps": "%s", "publicIps": "", "tags": {"ray-cluster-name": "%s", "ray-node-kind": "%s"}}' "$sep" "$n" "$i" "$cl" "$k"; sep=$',\n'; done <"$db"
    echo "]";;
"vm delete")
    want=name; name=$(opt "$@"); line=$(grep "^$name " "$db") || { echo "ERROR: (ResourceNotFound) $name" >&2; exit 1; }
    grep -v "^$name " "$db" >"$db.new"; mv "$db.new" "$db"; echo "$line" | awk '{print $2}' >>"$free";;
*) echo "ERROR: az: unexpected: $*" >&2; exit 2;;
esac
EOF2
    chmod +x "$CB/gcloud" "$CB/az"
}
