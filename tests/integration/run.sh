#!/usr/bin/env bash
# run.sh — run every tests/integration/test_*.sh (or those named), each under
# a time limit, RAY_TEST_JOBS of them at once (default 2), and print
# "N passed, N failed". Each test's output is printed whole when it ends.
# A test whose file has a line "# integration: alone" (floods, chaos: tests
# that load the machine or time what it does) runs by itself, after the
# others. Tests are independent: each has its own temp dir, ports and
# namespaces (lib.sh).
set -u
cd "$(dirname "$0")"
JOBS=${RAY_TEST_JOBS:-2}
LIMIT=${RAY_TEST_LIMIT:-300}
pass=0
failn=0
skipn=0
failed=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(test_*.sh)
OUT=$(mktemp -d /tmp/rayrun.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

together=()
alone=()
for t in "${tests[@]}"; do
    t=${t#tests/integration/}
    [ -f "$t" ] || t="test_$t.sh"
    [ -f "$t" ] || t="${t%.sh}"
    if grep -q '^# integration: alone' "$t" 2>/dev/null; then alone+=("$t"); else together+=("$t"); fi
done

# run T in the background; its output and then "rc seconds" land in $OUT
start_one() {
    local t=$1
    (
        s=$SECONDS
        timeout -k 5 "$LIMIT" bash "$t" >"$OUT/${t%.sh}.out" 2>&1
        echo "$? $((SECONDS - s))" >"$OUT/${t%.sh}.rc.tmp"
        mv "$OUT/${t%.sh}.rc.tmp" "$OUT/${t%.sh}.rc"
    ) &
}

# print and count every test that has ended and was not reported yet
report() {
    local f t rc secs
    for f in "$OUT"/*.rc; do
        [ -e "$f" ] || continue
        t=$(basename "$f" .rc)
        read -r rc secs <"$f"
        rm -f "$f"
        echo "== $t"
        cat "$OUT/$t.out" 2>/dev/null
        if [ "$rc" -eq 0 ]; then
            pass=$((pass + 1))
            echo "   passed ($secs s)"
        elif [ "$rc" -eq 77 ]; then
            skipn=$((skipn + 1))
            echo "   skipped"
        else
            failn=$((failn + 1))
            failed+=("$t")
            [ "$rc" -eq 124 ] && echo "   (stopped at the ${LIMIT} s limit)"
            echo "   FAILED ($secs s)"
        fi
    done
}

running=0
for t in "${together[@]}"; do
    while [ "$running" -ge "$JOBS" ]; do
        wait -n
        running=$((running - 1))
        report
    done
    start_one "$t"
    running=$((running + 1))
done
wait
report
for t in "${alone[@]}"; do
    start_one "$t"
    wait
    report
done

echo
[ $failn -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed, $skipn skipped"
[ $failn -eq 0 ]
