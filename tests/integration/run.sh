#!/usr/bin/env bash
# run.sh — run every tests/integration/test_*.sh (or those named), each under
# a time limit, and print "N passed, N failed".
set -u
cd "$(dirname "$0")"
pass=0
failn=0
skipn=0
failed=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(test_*.sh)
for t in "${tests[@]}"; do
    t=${t#tests/integration/}
    [ -f "$t" ] || t="test_$t.sh"
    echo "== ${t%.sh}"
    start=$SECONDS
    timeout -k 5 300 bash "$t"
    rc=$?
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "   passed ($((SECONDS - start)) s)"
    elif [ $rc -eq 77 ]; then
        skipn=$((skipn + 1))
        echo "   skipped"
    else
        failn=$((failn + 1))
        failed+=("${t%.sh}")
        echo "   FAILED ($((SECONDS - start)) s)"
    fi
done
echo
[ $failn -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed, $skipn skipped"
[ $failn -eq 0 ]
