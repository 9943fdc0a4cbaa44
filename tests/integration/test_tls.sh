# test_tls.sh — opt-in TLS (--tls-cert/--tls-key/--tls-ca): a two-node
# cluster whose node connections are TLS both ways runs work on the second
# node and gets its results back; the nodes' TCP ports speak TLS and want a
# certificate of the cluster's CA; the dashboard answers HTTPS (curl with the
# CA) and not plain HTTP; incomplete or wrong flags are one line naming the
# flag or file and the node does not start.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_observe.so
K=$T/pki
mkdir -p "$K"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" -days 2 \
    -subj "/CN=rayd test CA" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$K/node.key" -out "$K/node.csr" \
    -subj "/CN=rayd node" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\n' >"$K/ext"
openssl x509 -req -in "$K/node.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial \
    -out "$K/node.pem" -days 2 -extfile "$K/ext" >/dev/null 2>&1
# a certificate of another CA
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/other.key" -out "$K/other.pem" -days 2 \
    -subj "/CN=someone else" >/dev/null 2>&1
check "test certificates made" test -s "$K/node.pem" -a -s "$K/other.pem"
TLS=(--tls-cert "$K/node.pem" --tls-key "$K/node.key" --tls-ca "$K/ca.pem")

# ---- bad flags -----------------------------------------------------------------
P0=$(free_port)
"$RAY" start --head --port "$P0" --node-ip-address 127.0.0.1 --temp-dir "$T/x" \
    --tls-cert "$K/node.pem" >"$T/x.out" 2>&1
rc=$?
TEMP_DIRS+=("$T/x")
check "--tls-cert alone: the head does not start, and says --tls-key is missing" \
    bash -c "[ $rc -ne 0 ] && grep -q 'missing --tls-key' '$T/x.out'"
"$RAY" start --head --port "$P0" --node-ip-address 127.0.0.1 --temp-dir "$T/y" \
    --tls-cert "$K/node.pem" --tls-key "$K/ca.key" --tls-ca "$K/ca.pem" >"$T/y.out" 2>&1
rc=$?
TEMP_DIRS+=("$T/y")
check "a key that is not the certificate's: refused, naming both files" \
    bash -c "[ $rc -ne 0 ] && grep -q 'tls-key $K/ca.key does not match --tls-cert $K/node.pem' '$T/y.out'"
"$RAY" start --head --port "$P0" --node-ip-address 127.0.0.1 --temp-dir "$T/z" \
    --tls-cert "$K/nope.pem" --tls-key "$K/node.key" --tls-ca "$K/ca.pem" >"$T/z.out" 2>&1
rc=$?
TEMP_DIRS+=("$T/z")
check "a missing certificate file: refused, naming it" bash -c "[ $rc -ne 0 ] && grep -q -- '--tls-cert $K/nope.pem' '$T/z.out'"

# ---- a TLS cluster -------------------------------------------------------------
P=$(free_port)
DP=$(free_port)
A=$T/a B=$T/b
start_head "$A" "$P" --num-cpus 1 --dashboard-port "$DP" "${TLS[@]}" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 --resources 'side=1' "${TLS[@]}" >/dev/null 2>&1
export RAY_ADDRESS=127.0.0.1:$P
TOK=$(cat "$A"/session_latest/auth_token)
PB=$(sed -n 's/^node_port=//p' "$B"/session_latest/node.info)
check "two TLS nodes up" test -n "$PB"
timeout 60 "$RAY" submit "$JOB" -- remote >"$T/remote.out" 2>&1
rc=$?
check "a job's tasks run on the second node over TLS and their results come back" \
    bash -c "[ $rc -eq 0 ] && grep -Eq '^task [0-9a-f]{40}$' '$T/remote.out'"
# a big object both ways over TLS: made on B, checked on the head; made on
# the head, checked by a task on B (its bytes are a pattern from a seed)
cat >"$T/big.c" <<'C'
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define N (48u << 20)
static unsigned char at(size_t i, int seed) { return (unsigned char)((i * 2654435761u >> 13) + seed); }
static int make(ray_task *t, const ray_value *a, size_t n)
{
    void *p;
    if (ray_return_alloc(t, N, &p) != RAY_OK) return ray_fail(t, "alloc");
    for (size_t i = 0; i < N; i++) ((unsigned char *)p)[i] = at(i, 7);
    return 0;
}
RAY_REMOTE(make);
static int check(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || a[0].type != RAY_BYTES || a[0].as.buf.len != N) return ray_fail(t, "size");
    for (size_t i = 0; i < N; i++)
        if (((const unsigned char *)a[0].as.buf.ptr)[i] != at(i, 9)) return ray_fail(t, "content");
    return ray_return(t, RAY_I(1));
}
RAY_REMOTE(check);
int ray_main(int argc, char **argv)
{
    ray_opts o = RAY_OPTS;
    o.resources = "side=1";
    ray_ref r, p, c;
    ray_value v;
    if (ray_call("make", NULL, 0, &o, &r) != RAY_OK || ray_get(r, 60000, &v) != RAY_OK) return 1;
    if (v.type != RAY_BYTES || v.as.buf.len != N) return 2;
    for (size_t i = 0; i < N; i++)
        if (((const unsigned char *)v.as.buf.ptr)[i] != at(i, 7)) { printf("bad byte %zu\n", i); return 3; }
    unsigned char *b = malloc(N);
    for (size_t i = 0; i < N; i++) b[i] = at(i, 9);
    ray_value arg;
    if (ray_put(RAY_BYTES_V(b, N), &p) != RAY_OK) return 4;
    arg = RAY_R(p);
    if (ray_call("check", &arg, 1, &o, &c) != RAY_OK || ray_get(c, 60000, &v) != RAY_OK) {
        printf("check: %s\n", ray_last_error());
        return 5;
    }
    printf("big objects intact both ways\n");
    return 0;
}
C
cc -shared -fPIC -O2 -I"$ROOT/include" "$T/big.c" -o "$T/big.so" 2>"$T/big.build"
timeout 120 "$RAY" submit "$T/big.so" >"$T/big.out" 2>&1
check "48 MiB objects cross the TLS connection both ways, intact" grep -q 'intact both ways' "$T/big.out"
check "the nodes logged TLS on" bash -c "grep -q 'TLS on for node connections' '$A'/session_latest/logs/rayd_head.log && grep -q 'TLS on for node connections' '$B'/session_latest/logs/rayd.log"

timeout 10 openssl s_client -connect "127.0.0.2:$PB" -CAfile "$K/ca.pem" -cert "$K/node.pem" \
    -key "$K/node.key" </dev/null >"$T/sc.ok" 2>&1
check "node B's TCP port: TLS, its certificate verified against the CA" grep -q 'Verify return code: 0 (ok)' "$T/sc.ok"
timeout 10 openssl s_client -tls1_2 -connect "127.0.0.2:$PB" -CAfile "$K/ca.pem" -cert "$K/other.pem" \
    -key "$K/other.key" </dev/null >"$T/sc.other" 2>&1
check "a client certificate of another CA is refused (TLS 1.2: in the handshake)" grep -qi 'alert unknown ca' "$T/sc.other"
python3 - "$PB" >"$T/plain.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.2", int(sys.argv[1])), timeout=5)
s.sendall(b"\x00\x00\x00\x10" + b"x" * 16)   # not a TLS ClientHello
try:
    d = s.recv(100)
except Exception:
    d = b""
print("closed" if not d or d[:1] == b"\x15" else "answered %r" % d[:20])
PY
check "plain bytes on a TLS node port get no protocol answer" grep -qx closed "$T/plain.out"

# ---- the dashboard over HTTPS ----------------------------------------------------
c=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' --cacert "$K/ca.pem" -H "Authorization: Bearer $TOK" \
    "https://127.0.0.1:$DP/api/v0/nodes")
check "the dashboard answers HTTPS with the token (both nodes)" bash -c \
    "[ $c = 200 ] && python3 -c \"import json; assert json.load(open('$T/body'))['total']==2\""
c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$K/ca.pem" "https://127.0.0.1:$DP/api/v0/nodes")
check "over HTTPS without the token: 401" test "$c" = 401
c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$DP/api/v0/nodes")
check "plain HTTP to the TLS dashboard gets nothing" test "$c" = 000
timeout 60 "$RAY" job submit --address "https://127.0.0.1:$DP" --tls-ca "$K/ca.pem" "$JOB" -- remote \
    >"$T/job.out" 2>&1
rc=$?
check "ray job submit over HTTPS (--tls-ca) runs the job and exits 0" bash -c \
    "[ $rc -eq 0 ] && grep -Eq '^task [0-9a-f]{40}$' '$T/job.out' && grep -q 'succeeded' '$T/job.out'"
"$RAY" job list --address "https://127.0.0.1:$DP" >"$T/job.noca" 2>&1
rc=$?
check "ray job to an https dashboard without its CA: one line, non-zero" bash -c \
    "[ $rc -ne 0 ] && [ \$(wc -l <'$T/job.noca') -eq 1 ] && grep -q -- '--tls-ca' '$T/job.noca'"
"$RAY" job list --address "https://127.0.0.1:$DP" --tls-ca "$K/other.pem" >"$T/job.badca" 2>&1
rc=$?
check "ray job with another CA: refused in one line" bash -c \
    "[ $rc -ne 0 ] && [ \$(wc -l <'$T/job.badca') -eq 1 ] && grep -qi 'certificate verify failed' '$T/job.badca'"
check "node.info has the https URL" grep -qx "dashboard_url=https://127.0.0.1:$DP" "$A"/session_latest/node.info

finish
