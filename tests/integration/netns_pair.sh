# netns_pair.sh — two hosts made of network namespaces, for the multi-host
# tests without SSH (test_netns, test_partition; sourced after lib.sh).
# Each host's veth pair joins a bridge in the test's own namespace, which
# holds $NET.1; host I has $NET.1I. Its links are named so that a test can
# cut one: "$NETNS_LINK$I$TAG" on the bridge side.
#
#   netns_pair NAME NET LINK      make NS1, NS2 and the bridge, and the EXIT
#                                 trap that removes them (with lib.sh's
#                                 cleanup); exits 77 (skip) where namespaces
#                                 are not permitted
# NAME names the test (in the skip line and the namespaces), NET the /24's
# first three octets, LINK the bridge-side link prefix (one letter).
netns_pair() {
    local name=$1 i ns
    NET=$2 NETNS_LINK=$3 TAG=$$
    BR=r${3}b$TAG NS1=ray${3}1-$TAG NS2=ray${3}2-$TAG
    if ! ip netns add "$NS1" 2>/dev/null; then
        echo "  skip [$name]: network namespaces are not permitted here"
        exit 77
    fi
    trap 'cleanup; netns_cleanup' EXIT
    ip netns add "$NS2"
    ip link add "$BR" type bridge && ip addr add "$NET.1/24" dev "$BR" && ip link set "$BR" up
    i=0
    for ns in "$NS1" "$NS2"; do
        i=$((i + 1))
        ip link add "$NETNS_LINK$i$TAG" type veth peer name "p$i$TAG"
        ip link set "p$i$TAG" netns "$ns"
        ip link set "$NETNS_LINK$i$TAG" master "$BR" up
        ip netns exec "$ns" ip addr add "$NET.1$i/24" dev "p$i$TAG"
        ip netns exec "$ns" ip link set "p$i$TAG" up
        ip netns exec "$ns" ip link set lo up
    done
}

netns_cleanup() {
    ip netns del "$NS1" 2>/dev/null
    ip netns del "$NS2" 2>/dev/null
    ip link del "$BR" 2>/dev/null
    ip link del "${NETNS_LINK}1$TAG" 2>/dev/null
    ip link del "${NETNS_LINK}2$TAG" 2>/dev/null
}
