# test_bad_input.sh — garbage bytes, oversized frames, truncated frames and
# wrong versions sent to every port rayd listens on leave it running; every
# CLI error is one clear line and a non-zero exit.
source "$(dirname "$0")/lib.sh"

P=$(free_port)
H=$T/head
start_head "$H" "$P" --num-cpus 1 >/dev/null
check "head starts" test $? -eq 0
pid=$(rayd_pid "$H")
tcp=$(grep '^node_port=' "$H/session_latest/node.info" | cut -d= -f2)
sock="$H/session_latest/sockets/raylet.sock"

send_tcp() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tcp; printf '$1' >&3; sleep 0.2" 2>/dev/null; }
send_unix() { printf "$1" | timeout 3 nc -U -q 1 "$sock" >/dev/null 2>&1; }
for send in send_tcp send_unix; do
    $send 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'                 # garbage: huge length prefix
    $send '\xff\xff\xff\xff'                                    # 4 GiB frame announced
    $send '\x00\x00\x00\x00'                                    # empty frame
    $send '\x00\x00\x00\x10\x92\x01'                            # truncated then closed
    $send '\x00\x00\x00\x03\x93\xcd\x27'                        # unknown type, truncated
    $send '\x00\x00\x00\x02\x91\x63'                            # unknown message type 99
    $send '\x00\x00\x00\x06\x95\x01\x63\x01\xa0\x00'            # HELLO version 99 (wrong field count)
    $send '\x00\x00\x00\x07\x96\x01\x63\x01\xa0\x00\x80'    # HELLO, bad version
    $send '\x00\x00\x00\x08\x96\x01\x02\x01\xa1x\x00\x80'       # HELLO, bad token
    $send '\x00\x00\x00\x05\x92\x04\xdd\x7f\xff'                # array32 claiming 2^31 elements
    head -c 70000 /dev/urandom > "$T/rand"; timeout 3 bash -c "cat '$T/rand' > /dev/tcp/127.0.0.1/$tcp" 2>/dev/null
done
check "rayd survives garbage on TCP and Unix socket" kill -0 "$pid"
grep -c "closing connection" "$H"/session_latest/logs/rayd_head.log >"$T/count"
check "bad peers were logged and disconnected ($(cat "$T/count"))" test "$(cat "$T/count")" -ge 10
check "node still answers status" bash -c "'$RAY' status --address 127.0.0.1:$P | grep -q '1 node_'"

# the embedded Redis port is password protected: an unauthenticated write is refused
check "redis requires the password" bash -c "redis-cli -h 127.0.0.1 -p $P SET x y 2>&1 | grep -q NOAUTH"

# CLI errors: one line, non-zero
one_line_error() { # DESC EXPECTED-REGEX CMD...
    local d=$1 re=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$re" "$T/err"; then ok "$d"
    else fail "$d (rc=$rc, stderr: $(cat "$T/err"))"; fi
}
one_line_error "unknown flag" "unknown option --bogus" "$RAY" start --head --bogus
one_line_error "bad port value" "out of range" "$RAY" start --head --port 70000
one_line_error "missing value" "needs a value" "$RAY" start --head --port
one_line_error "port in use" "in use" "$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$T/other"
one_line_error "missing redis-server" "not found" "$RAY" start --head --port "$(free_port)" --node-ip-address 127.0.0.1 --temp-dir "$T/other2" --redis-server /nonexistent/redis-server
one_line_error "unreachable head" "cannot reach|refused" "$RAY" start --address 127.0.0.1:1 --temp-dir "$T/other3"
printf 'num_cpus: lots\n' >"$T/bad.yaml"
one_line_error "bad YAML value" "bad.yaml:1" "$RAY" start --head --config "$T/bad.yaml"
printf 'num_cpus: [1\n' >"$T/bad2.yaml"
one_line_error "YAML syntax error" "bad2.yaml" "$RAY" start --head --config "$T/bad2.yaml"
one_line_error "unknown command" "unknown command" "$RAY" frobnicate
one_line_error "status without cluster" "no cluster" env HOME="$T/empty" "$RAY" status --temp-dir "$T/none"
echo 'not elf' >"$T/job.so"
one_line_error "submit of a non-library" "not a shared library" "$RAY" submit --address "127.0.0.1:$P" "$T/job.so"
check "head still alive after all that" kill -0 "$pid"
"$RAY" stop --temp-dir "$H" >/dev/null
finish
