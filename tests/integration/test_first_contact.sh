# test_first_contact.sh — what a new user hits first (issue 8): `ray` alone
# and --version; the hints of `ray start` and --temp-dir in every --help; two
# clusters on one machine, each found with its own token; a start that fails
# changes nothing; --token / RAY_TOKEN on every command; a cluster YAML given
# to --config; job errors naming the user's file in one line; `ray list jobs`
# oldest first and `ray list tasks` after the job ended.
source "$(dirname "$0")/lib.sh"

# one_line DESC REGEX CMD...: fails (non-zero) with exactly one stderr line matching REGEX
one_line() {
    local d=$1 re=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$re" "$T/err"; then ok "$d"
    else fail "$d (rc=$rc, stderr: $(head -c 600 "$T/err"))"; fi
}

# --- 1. the binary itself ----------------------------------------------------
"$RAY" >"$T/out" 2>"$T/err"
rc=$?
check "ray alone exits 2 (got $rc)" test $rc -eq 2
check "ray alone prints usage on stderr, nothing on stdout" \
    bash -c "grep -q '^usage: ray COMMAND' '$T/err' && test ! -s '$T/out'"
want=$(sed -n 's/^#define RAYD_VERSION "\(.*\)"/\1/p' "$ROOT/common/version.h")
check "ray --version says 'ray, version $want'" \
    bash -c "[ \"\$('$RAY' --version)\" = 'ray, version $want' ]"
check "rayd --version says the same" bash -c "[ \"\$('$RAYD' --version)\" = 'ray, version $want' ]"
check "ray start --help lists the dashboard's and the metrics' flags" \
    bash -c "'$RAY' start --help | grep -q -- '--dashboard-port' && '$RAY' start --help | grep -q -- '--dashboard-host' && '$RAY' start --help | grep -q -- '--metrics-export-port'"

for cmd in start stop status list submit; do
    check "ray $cmd --help lists --temp-dir" bash -c "'$RAY' $cmd --help | grep -q -- '--temp-dir'"
done
for cmd in status list submit stop; do
    check "ray $cmd --help lists --token" bash -c "'$RAY' $cmd --help | grep -q -- '--token'"
done

# --- 2. two clusters on one machine ------------------------------------------
PA=$(free_port)
PB=$(free_port)
A=$T/a
B=$T/b
start_head "$A" "$PA" --num-cpus 2 >/dev/null 2>&1
check "head A starts" test -f "$A/session_latest/rayd.pid"
ida=$(sed -n 's/^node_id=//p' "$A/session_latest/node.info")
# ray start's own hint must work as printed
hint=$(grep -A1 '^To see the cluster:' "$A.start.out" | tail -1 | sed 's/^ *//')
check "the status hint names the temp dir ($hint)" test "$hint" = "ray status --temp-dir $A"
check "the status hint works as printed" bash -c "PATH='$ROOT/bin':\$PATH $hint | grep -q 'node_$ida'"
check "the stop hint names the temp dir" grep -qx "    ray stop --temp-dir $A" "$A.start.out"

start_head "$B" "$PB" --num-cpus 1 >/dev/null 2>&1
check "head B starts" test -f "$B/session_latest/rayd.pid"
idb=$(sed -n 's/^node_id=//p' "$B/session_latest/node.info")
"$RAY" status --temp-dir "$A" >"$T/sa" 2>&1
check "after B started, ray status --temp-dir A still works" grep -q "node_$ida" "$T/sa"
"$RAY" list nodes --temp-dir "$A" >"$T/la" 2>&1
check "after B started, ray list nodes --temp-dir A still works (and shows A only)" \
    bash -c "grep -q '$ida' '$T/la' && ! grep -q '$idb' '$T/la'"
check "ray status --address A finds A's token (~/.ray/tokens)" \
    bash -c "'$RAY' status --address 127.0.0.1:$PA | grep -q 'node_$ida'"
check "ray status --temp-dir B works" bash -c "'$RAY' status --temp-dir '$B' | grep -q 'node_$idb'"
check "the per-cluster token files are 0600" \
    bash -c "[ \"\$(stat -c %a '$HOME/.ray/tokens/127.0.0.1_$PA')\" = 600 ]"

# a start on a busy port changes nothing
latest=$(readlink "$B/session_latest")
cp "$HOME/.ray/auth_token" "$T/token.before"
cp "$B/ray_current_cluster" "$T/current.before"
nsess=$(ls -d "$B"/session_2* | wc -l)
one_line "a head on a busy port fails in one line" "in use" \
    "$RAY" start --head --port "$PB" --node-ip-address 127.0.0.1 --temp-dir "$B" --num-cpus 1 \
    --object-store-memory 64MiB
check "... and leaves session_latest alone" test "$(readlink "$B/session_latest")" = "$latest"
check "... and leaves ~/.ray/auth_token alone" cmp -s "$T/token.before" "$HOME/.ray/auth_token"
check "... and leaves ray_current_cluster alone" cmp -s "$T/current.before" "$B/ray_current_cluster"
check "... and leaves no dead session behind" test "$(ls -d "$B"/session_2* | wc -l)" -eq "$nsess"
check "... and B still answers" bash -c "'$RAY' status --temp-dir '$B' | grep -q 'node_$idb'"

# --token and RAY_TOKEN everywhere, with no token file to fall back on
TA=$(cat "$A/session_latest/auth_token")
mv "$HOME/.ray" "$HOME/.ray.away"
check "without token files, --address A is refused" \
    bash -c "! '$RAY' status --address 127.0.0.1:$PA >/dev/null 2>&1"
check "ray status --token" bash -c "'$RAY' status --address 127.0.0.1:$PA --token '$TA' | grep -q 'node_$ida'"
check "ray status --token=" bash -c "'$RAY' status --address=127.0.0.1:$PA --token='$TA' | grep -q 'node_$ida'"
check "ray list --token" bash -c "'$RAY' list nodes --address 127.0.0.1:$PA --token '$TA' | grep -q '$ida'"
check "ray list with RAY_TOKEN" \
    bash -c "RAY_TOKEN='$TA' '$RAY' list nodes --address 127.0.0.1:$PA | grep -q '$ida'"
check "ray status with RAY_TOKEN" \
    bash -c "RAY_TOKEN='$TA' '$RAY' status --address 127.0.0.1:$PA | grep -q 'node_$ida'"
timeout 60 "$RAY" submit --address "127.0.0.1:$PA" --token "$TA" "$ROOT/examples/build/job_squares.so" \
    >"$T/sq" 2>&1
check "ray submit --token" grep -q 'sum of squares' "$T/sq"
RAY_TOKEN=$TA timeout 60 "$RAY" submit --address "127.0.0.1:$PA" "$ROOT/examples/build/job_squares.so" \
    >"$T/sq2" 2>&1
check "ray submit with RAY_TOKEN" grep -q 'sum of squares' "$T/sq2"
mv "$HOME/.ray.away" "$HOME/.ray"

# --- 3. a cluster YAML is not a node config ----------------------------------
cat >"$T/cluster.yaml" <<'EOF'
cluster_name: demo
max_workers: 2
provider:
    type: local
    head_ip: 127.0.0.1
    worker_ips: []
auth:
    ssh_user: ubuntu
EOF
one_line "ray start --config CLUSTER.yaml fails in one line" \
    "^ray start: .*cluster.yaml: this is a cluster config \(for ray up\), not a node config$" \
    "$RAY" start --head --port "$(free_port)" --node-ip-address 127.0.0.1 --temp-dir "$T/c" \
    --config "$T/cluster.yaml"
check "... and starts nothing" test ! -e "$T/c"

# --- 4. job errors name the user's file, in one line --------------------------
cat >"$T/job_missing.c" <<'EOF'
#include <ray.h>
#include <stdio.h>
int ray_main(int argc, char **argv)
{
    ray_ref r;
    if (ray_call("no_such_function", NULL, 0, NULL, &r) != RAY_OK) {
        fprintf(stderr, "%s\n", ray_last_error());
        return 1;
    }
    return 0;
}
EOF
cat >"$T/job_unloadable.c" <<'EOF'
#include <ray.h>
void not_defined_anywhere(void);
int ray_main(int argc, char **argv) { not_defined_anywhere(); return 0; }
EOF
cc -shared -fPIC -I"$ROOT/include" "$T/job_missing.c" -o "$T/job_missing.so" &&
    cc -shared -fPIC -I"$ROOT/include" "$T/job_unloadable.c" -o "$T/job_unloadable.so" ||
    fail "cannot build the test jobs"
cp "$ROOT/build/jobs/job_no_main.so" "$T/job_no_main.so"
sub() { (cd "$T" && timeout 60 "$RAY" submit --temp-dir "$A" "$@"); }
no_copy() { ! grep -Eq 'session_|[0-9a-f]{64}' "$T/err"; }
one_line "a library without ray_main" "^ray submit: job_no_main.so: not a job library \(no ray_main\)$" \
    sub job_no_main.so
one_line "a program passed as a library" "^ray submit: /bin/ls: a program, not a job library" \
    sub /bin/ls
one_line "a call of a missing function" "^no remote function 'no_such_function' in job library job_missing.so$" \
    sub job_missing.so
one_line "a library that cannot be loaded (driver only, no worker lines)" \
    "^ray: job_unloadable.so: undefined symbol: not_defined_anywhere$" sub job_unloadable.so
check "no message names the session's copy" no_copy

# --- 5. ray list after jobs ended ---------------------------------------------
sub job_missing.so >/dev/null 2>&1
"$RAY" list jobs --temp-dir "$A" --format json >"$T/jobs.json" 2>&1
check "ray list jobs: oldest first, newest last" \
    bash -c "grep -o '\"job_id\": \"[0-9a-f]*\"' '$T/jobs.json' | cut -d'\"' -f4 >'$T/ids' &&
             [ \$(wc -l <'$T/ids') -ge 5 ] && sort -c '$T/ids'"
"$RAY" list tasks --temp-dir "$A" >"$T/tasks" 2>&1
check "ray list tasks still shows the ended jobs' tasks" grep -q 'FINISHED' "$T/tasks"

check "ray stop takes --token" bash -c "'$RAY' stop --temp-dir '$B' --token x | grep -q 'Stopped'"
"$RAY" stop --temp-dir "$A" >/dev/null
finish
