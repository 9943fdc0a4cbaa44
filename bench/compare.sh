#!/usr/bin/env bash
# compare.sh — run two versions of rayd side by side, alternating, in one
# sitting, and print each benchmark's medians and spreads for both and the
# ratio B/A (issue 16: figures swing between runs and machines, so compare
# in one sitting, never against an old table).
#
#   bench/compare.sh A B [ROUNDS]
#
# A and B are commits (anything `git rev-parse` takes; "WORKTREE" means the
# working tree as it is, uncommitted changes included). Each is checked out
# into its own directory under /tmp and built there (make all examples);
# then ROUNDS times (default 3) A's `make bench` suite runs, then B's (then
# A's first next round, and so on: ABBAAB... so neither always runs
# warm), each with BENCH_RUNS=3. The table has, per benchmark, the median
# over every measurement of A and of B, their spreads ((max - min) /
# median), and B/A (above 1: B is higher, which is better or worse as the
# benchmark's unit says). The rounds' JSON lines are kept in
# build/bench/compare-A-B/.
#
# Environment: BENCH_ONLY (default: the hot-path set below), BENCH_SECONDS,
# BENCH_DRAIN_N, passed to each run; KEEP=1 keeps the checkouts.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
[ $# -ge 2 ] || { echo "usage: bench/compare.sh A B [ROUNDS]" >&2; exit 2; }
A=$1 B=$2 ROUNDS=${3:-3}
# resolved now: the labels must name what was built, whatever HEAD is later
short() { [ "$1" = WORKTREE ] && echo worktree || git rev-parse --short "$1^{commit}" 2>/dev/null; }
SA=$(short "$A") SB=$(short "$B")
export BENCH_ONLY=${BENCH_ONLY:-single_client_tasks_sync,single_client_tasks_async,multi_client_tasks_async,actor_calls_sync,actor_calls_async_1_1,single_client_get_calls,single_client_put_calls,single_client_put_gigabytes}
export BENCH_RUNS=${BENCH_RUNS:-3}
say() { printf 'compare: %s\n' "$*" >&2; }

# checkout NAME REV: a built tree of REV in /tmp; prints its path
checkout() {
    local name=$1 rev=$2 dir
    dir=$(mktemp -d "/tmp/raycmp-$name.XXXXXX")
    if [ "$rev" = WORKTREE ]; then
        # tracked and untracked files as they are, without build outputs
        git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$dir" ||
            return 1
    else
        local sha
        sha=$(git rev-parse --verify "$rev^{commit}" 2>/dev/null) ||
            { say "$rev: not a commit"; return 1; }
        git archive "$sha" | tar -xf - -C "$dir" || return 1
    fi
    say "building $rev in $dir"
    make -C "$dir" -j2 all examples >"$dir/build.log" 2>&1 ||
        { say "$rev: build failed (see $dir/build.log)"; return 1; }
    echo "$dir"
}

DA=$(checkout A "$A") || exit 1
DB=$(checkout B "$B") || exit 1
OUT="$ROOT/build/bench/compare-$SA-$SB"
mkdir -p "$OUT"
rm -f "$OUT"/*.jsonl
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$DA" "$DB"; }
trap cleanup EXIT

for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="A B"; else order="B A"; fi
    for v in $order; do
        d=$DA; [ "$v" = B ] && d=$DB
        say "round $r/$ROUNDS: $v"
        BENCH_JSON="$OUT/$v.$r.jsonl" bash "$d/bench/run.sh" >"$OUT/$v.$r.out" 2>"$OUT/$v.$r.err" ||
            say "round $r of $v failed (see $OUT/$v.$r.err)"
    done
done

echo "A = $A ($SA), B = $B ($SB), $ROUNDS rounds alternating, BENCH_RUNS=$BENCH_RUNS, $(nproc) CPUs, $(date -u +%Y-%m-%d)"
# every measurement: a run's median stands for that run (the JSON lines hold
# median, min and max of its BENCH_RUNS measurements)
for v in A B; do
    cat "$OUT"/$v.*.jsonl 2>/dev/null | sed "s/^/$v /"
done | awk '
function field(line, key,    s) {
    if (match(line, "\"" key "\": (null|[-0-9.eE+]+|\"[^\"]*\")") == 0) return ""
    s = substr(line, RSTART, RLENGTH); sub("^\"" key "\": ", "", s); gsub(/"/, "", s); return s
}
{
    v = $1; name = field($0, "benchmark"); val = field($0, "value")
    if (name ~ /^floor_/ || val == "" || val == "null") next
    if (!(name in seen)) { seen[name] = 1; order[++n] = name; unit[name] = field($0, "unit") }
    k = v SUBSEP name; cnt[k]++; x[k, cnt[k]] = val + 0
}
function median(k,    i, j, t, m, a) {
    m = cnt[k]; for (i = 1; i <= m; i++) a[i] = x[k, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    lo_ = a[1]; hi_ = a[m]
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
    printf "%-32s %-8s %12s %8s %12s %8s %8s\n", "benchmark", "unit", "A median", "spread", "B median", "spread", "B/A"
    for (i = 1; i <= n; i++) {
        b = order[i]
        if (!(("A" SUBSEP b) in cnt) || !(("B" SUBSEP b) in cnt)) continue
        ma = median("A" SUBSEP b); sa = ma ? (hi_ - lo_) / ma : 0
        mb = median("B" SUBSEP b); sb = mb ? (hi_ - lo_) / mb : 0
        printf "%-32s %-8s %12.6g %7.0f%% %12.6g %7.0f%% %8.3f\n", b, unit[b], ma, 100 * sa, mb, 100 * sb, ma ? mb / ma : 0
    }
    print ""
    print "spread: (max - min) / median over the rounds; a ratio inside the spreads is no difference."
}'
