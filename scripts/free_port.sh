# free_port.sh — sourced helper: free_port prints a TCP port on loopback that
# nothing uses. It draws from below the kernel's ephemeral range, so an
# outgoing connection cannot take the port between the pick and the bind, and
# it checks sockets in every state, not only listeners.
# Used by tests/integration/lib.sh, bench/run.sh, bench/profile.sh and
# scripts/demo.sh.

free_port() {
    local lo=32768 p
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 12000 ] || lo=32768
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (lo - 10000)))
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return 0; fi
    done
    return 1
}
