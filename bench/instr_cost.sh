#!/usr/bin/env bash
# instr_cost.sh — what the timeline and the metrics cost the hot path,
# counted in instructions rather than seconds (issue 13: "the hot path did
# not slow by more than 3 % with metrics and timeline events on").
#
# On this machine's 2-vCPU guest, throughput and even CPU time per task swing
# by 20-75 % between runs of one binary (BENCHMARKS.md rounds 10 and 11), so
# a 3 % bound cannot be read from them. Instructions executed can: every
# process that works on a task (the node, Redis, the workers, the driver)
# runs under valgrind's callgrind, which counts each instruction, and the
# figure is the same to a fraction of a percent from run to run. What it
# leaves out is time spent in the kernel (system calls: the timeline adds one
# write per batch of 512 events in a process, and one Redis append per 100 ms
# on the node), which the note below the figures prices separately.
#
#   bench/instr_cost.sh TREE[:VAR=VALUE]... [-- BENCHMARK...]
#
# Each TREE is a built checkout (bin/ray, build/bench/ from bench/run.sh or
# built here); ":VAR=VALUE" runs that tree with a variable set
# ("/w:RAY_TIMELINE=0"). For every round (ROUNDS, default 1), tree and
# benchmark (default single_client_tasks_async): two fresh heads, each under
# callgrind with all its children, and the driver under callgrind, once with
# BENCH_RUNS=1 and once with BENCH_RUNS=3 (a warm-up pass of 10,000
# operations, then 1 or 3 passes of 10,000); instructions per operation are
# (total of the second - total of the first) / 20,000, so start-up, the
# warm-up and shutdown cancel out. A tree whose VAR is not RAY_TIMELINE=0 has
# its /metrics scraped (with the token) every 5 s during the runs, as a
# Prometheus would (its default interval is 1 min; under valgrind 5 s is
# about every 0.1 s of the real speed): the scrapes are counted in its figure.
#
# Output: one line per tree and benchmark with instructions per operation
# (total, node, Redis, workers, driver; median over rounds), then, for each
# tree with the timeline on, the share of those instructions spent in the
# timeline's code and in the metrics' (see TL_FUNCS and MX_FUNCS below):
# that share is the figure for issue 13's 3 %. With INSTR_JSON=1 the lines
# are JSON, as bench/run.sh prints.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/bench/trees.sh"
trees_args "bench/instr_cost.sh TREE[:VAR=VALUE]... [-- BENCHMARK...]" "$@"
[ ${#BENCHES[@]} -ge 1 ] || BENCHES=(single_client_tasks_async)
ROUNDS=${ROUNDS:-1}
PER_RUN=10000
command -v valgrind >/dev/null || { echo "instr_cost: valgrind is not installed" >&2; exit 1; }
OUT=${INSTR_REUSE:-}  # INSTR_REUSE=DIR: analyse an earlier run's files again, run nothing
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/rci.XXXXXX)
source "$ROOT/scripts/free_port.sh"
say() { printf 'instr_cost: %s\n' "$*" >&2; }

# the callgrind total of one output file (its "summary:" or "totals:" line)
cg_total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# ROLE of the process that wrote callgrind file F: node, redis, worker, driver, cli
cg_role() {
    local cmd
    cmd=$(awk '/^cmd:/ { $1 = ""; print; exit }' "$1")
    case "$cmd" in
    *redis-server*) echo redis ;;
    *bench_driver*) echo driver ;;
    *"rayd --worker"* | *"ray --worker"*) echo worker ;;
    *rayd\ --head* | *rayd\ --address*) echo node ;;
    *) echo cli ;;
    esac
}

# one head of SPEC, its driver with RUNS passes; prints "node redis worker driver" Ir
one_run() { # TREE-SPEC BENCHMARK RUNS DIR
    local spec=$1 b=$2 runs=$3 D=$4 tree env="" port pids p
    tree=${spec%%:*}
    [ "$tree" != "$spec" ] && env=${spec#*:}
    rm -rf "$D"
    mkdir -p "$D/home" "$D/cg"
    port=$(free_port)
    (
        export HOME="$D/home"
        unset RAY_ADDRESS RAY_TOKEN
        [ -n "$env" ] && export "${env?}"
        # batch_flush_ told apart by its two callers: see TL_MINUS
        local vg=(valgrind --tool=callgrind --trace-children=yes --log-file="$D/cg/log.%p"
                  --callgrind-out-file="$D/cg/cg.%p" --separate-callers2=batch_flush_)
        "${vg[@]}" "$tree/bin/ray" start --head --port "$port" --node-ip-address 127.0.0.1 \
            --temp-dir "$D/head" --num-cpus 2 --object-store-memory 256MiB >"$D/start.out" 2>&1 ||
            { say "head did not start: $(tail -1 "$D/start.out")"; exit 1; }
        local scraper=""
        if [ "$env" != RAY_TIMELINE=0 ]; then
            local mp tok
            mp=$(sed -n 's/^metrics_port=//p' "$D"/head/session_latest/node.info)
            tok=$(cat "$D/head/session_latest/auth_token" 2>/dev/null)
            if [ -n "$mp" ] && [ -n "$tok" ]; then
                ( while sleep 5; do
                    curl -s -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$mp/metrics"
                done ) &
                scraper=$!
            fi
        fi
        BENCH_RUNS=$runs timeout 900 "${vg[@]}" "$tree/build/bench/bench_driver" "127.0.0.1:$port" \
            "$tree/build/bench/bench_job.so" "$b" >"$D/driver.out" 2>&1 ||
            say "driver failed: $(tail -1 "$D/driver.out")"
        [ -n "$scraper" ] && { kill "$scraper"; wait "$scraper"; } 2>/dev/null
        # the workers die by SIGKILL with their node (or when idle a while),
        # which leaves callgrind no time to write: have each dump what it
        # counted at once
        local rayd
        rayd=$(cat "$D/head/session_latest/rayd.pid")
        for p in $(ps -o pid= --ppid "$rayd"); do
            grep -q -- '--worker' "/proc/$p/cmdline" 2>/dev/null && callgrind_control -d "$p" >/dev/null 2>&1
        done
        # the XADDs of timeline entries Redis took and their bytes (priced
        # apart, see xadd_ir)
        local rc=(redis-cli -h 127.0.0.1 -p "$port" -a "$(cat "$D/head/session_latest/auth_token")"
                  --no-auth-warning) key
        "${rc[@]}" info commandstats 2>/dev/null |
            sed -n 's/^cmdstat_xadd:calls=\([0-9]*\).*/\1/p' >"$D/xadds"
        [ -s "$D/xadds" ] || echo 0 >"$D/xadds"
        key=$("${rc[@]}" --scan --pattern '*timeline' 2>/dev/null | head -1)
        if [ -n "$key" ]; then "${rc[@]}" --raw xrange "$key" - + 2>/dev/null | wc -c; else echo 0; fi >"$D/xbytes"
        "$tree/bin/ray" stop --temp-dir "$D/head" >/dev/null 2>&1
        # valgrind writes its file as each process exits
        for _ in $(seq 1 600); do # up to 2 minutes: a loaded machine under valgrind
            pids=""
            for p in "$D"/cg/log.*; do
                p=${p##*.}
                kill -0 "$p" 2>/dev/null && pids="$pids $p"
            done
            [ -z "$pids" ] && break
            sleep 0.2
        done
    ) || return 1
    local node=0 redis=0 worker=0 driver=0 f r v
    for f in "$D"/cg/cg.*; do
        r=$(cg_role "$f")
        v=$(cg_total "$f")
        [ -n "$v" ] || continue
        case "$r" in
        node) node=$((node + v)) ;;
        redis) redis=$((redis + v)) ;;
        worker) worker=$((worker + v)) ;;
        driver) driver=$((driver + v)) ;;
        esac
    done
    # a process that did not write its count (killed, or still writing)
    # would make the difference meaningless
    if [ "$node" = 0 ] || [ "$redis" = 0 ] || [ "$worker" = 0 ] || [ "$driver" = 0 ]; then
        say "a process of the head in $D wrote no count (node $node, redis $redis, workers $worker, driver $driver): round left out"
        return 1
    fi
    echo "$node $redis $worker $driver"
}

for spec in "${TREES[@]}"; do
    [ -x "${spec%%:*}/bin/ray" ] || { say "${spec%%:*}: bin/ray missing (run make there)"; exit 1; }
done
trees_build

for ((r = 1; r <= ROUNDS; r++)); do
    [ -n "${INSTR_REUSE:-}" ] && break
    n=${#TREES[@]}
    for ((i = 0; i < n; i++)); do
        ti=$(((i + r - 1) % n))
        spec=${TREES[$ti]}
        for ((bi = 0; bi < ${#BENCHES[@]}; bi++)); do
            b=${BENCHES[$bi]}
            say "round $r/$ROUNDS: $spec $b (two heads under callgrind: 20,000 then 40,000 operations)"
            # each head's files stay in OUT/ROUND.TREE.BENCHMARK.RUNS/cg (short: socket paths)
            a=$(one_run "$spec" "$b" 1 "$OUT/$r.$ti.$bi.1") || { say "run failed"; continue; }
            c=$(one_run "$spec" "$b" 3 "$OUT/$r.$ti.$bi.3") || { say "run failed"; continue; }
            echo "$spec $b $r $a $c" >>"$OUT/raw.txt"
        done
    done
done
[ -s "$OUT/raw.txt" ] || { say "no run completed"; exit 1; }

# per tree and benchmark: median over rounds of instructions per operation
awk -v ops=$((2 * PER_RUN)) -v json="${INSTR_JSON:-0}" '
{ k = $1 " " $2; c = ++n[k]
  for (j = 0; j < 4; j++) part[k, j, c] = ($(8 + j) - $(4 + j)) / ops
  tot[k, c] = part[k, 0, c] + part[k, 1, c] + part[k, 2, c] + part[k, 3, c]
  if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
function med(a, c,    i, j, t) {
    for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    lo = a[1]; hi = a[c]
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
END {
    if (!json) printf "%-40s %-26s %10s %7s %9s %9s %9s %9s\n", "tree", "benchmark", "Ir/op", "spread", "node", "redis", "workers", "driver"
    for (i = 1; i <= m; i++) {
        k = order[i]; split(k, kk, " ")
        delete v; for (c = 1; c <= n[k]; c++) v[c] = tot[k, c]
        t = med(v, n[k]); sp = t ? (hi - lo) / t : 0
        for (j = 0; j < 4; j++) { delete v; for (c = 1; c <= n[k]; c++) v[c] = part[k, j, c]; p[j] = med(v, n[k]) }
        if (json)
            printf "{\"benchmark\": \"%s_instructions\", \"value\": %.0f, \"unit\": \"Ir/op\", \"runs\": %d, \"min\": %.0f, \"max\": %.0f, \"note\": \"%s: node %.0f, redis %.0f, workers %.0f, driver %.0f\"}\n", kk[2], t, n[k], lo, hi, kk[1], p[0], p[1], p[2], p[3]
        else
            printf "%-40s %-26s %10.0f %6.2f%% %9.0f %9.0f %9.0f %9.0f\n", kk[1], kk[2], t, 100 * sp, p[0], p[1], p[2], p[3]
    }
}' "$OUT/raw.txt" | tee "$OUT/table.txt"

# ---- what the timeline and the metrics themselves execute ------------------------
# Totals move by 10-25 % from one run of a binary to the next (how work
# batches depends on timing, and under valgrind more so), so the two trees'
# totals cannot resolve 3 %. What can: the instructions spent inside the
# timeline's and the metrics' own code, per operation, against the total per
# operation, in the same runs, for each tree with the timeline on. Inclusive
# costs of these entry points (none calls another of its list, so nothing
# counts twice):
TL_FUNCS='api_event_add_|api_event_task_|api_events_flush_|api_events_now_us_|h_events|events_cb|observe_node_span'
MX_FUNCS='counters_task_final|on_request|sample_work|sample_done'
# A GCS command flushes the node's batch of task records first (to keep the
# writes in order), so the node's timeline append carries that flush in its
# inclusive cost; the records would have gone a moment later anyway, so
# that part is not the timeline's and is taken off:
TL_MINUS="batch_flush_'gcs_command_argv'events_flush"
# api_events_idle_ calls api_events_flush_; its own part is counted through
# the flush (its check is a few instructions). Redis' part, the XADDs with
# reading the request and appending it to the AOF, is priced apart below.
fn_sum() { # DIR ROLE REGEX: the inclusive Ir of REGEX's functions in ROLE's files
    local f s=0 v
    for f in "$1"/cg.*; do
        [ "$(cg_role "$f")" = "$2" ] || continue
        # (callgrind_annotate lists a function a second time, without its
        # object, when the source's path resolves from the working directory:
        # only the lines that name the object count)
        v=$(callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$f" 2>/dev/null |
            awk -v re=":($3)([ .']|$)" '$0 !~ /=>/ && $0 ~ re && $1 ~ /^[0-9,]+$/ && $NF ~ /\]$/ { gsub(",", "", $1); s += $1 } END { printf "%.0f", s }')
        s=$((s + v))
    done
    echo "$s"
}
# What an XADD of timeline events costs Redis, request reading and AOF
# included, in a Redis configured as the cluster's (AOF, fsync every
# second): 100 XADDs of 1 KiB and 100 of 48 KiB (the node's OBS_ENTRY_BYTES,
# the most one entry carries) against none give a fixed cost per XADD and a
# cost per byte; prints "FIXED PER_BYTE".
xadd_ir() {
    local D="$OUT/xadd" size port tot=()
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "0 0"; return; }
    for size in 0 1024 49152; do
        rm -rf "$D"; mkdir -p "$D"
        port=$(free_port)
        valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" --log-file="$D/vg.log" \
            redis-server --port "$port" --bind 127.0.0.1 --dir "$D" --appendonly yes \
            --appendfsync everysec --save "" >/dev/null 2>&1 &
        local pid=$!
        for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
        python3 -c '
import sys
size = int(sys.argv[1]); k = 100 if size else 0
payload = (("T 1764630000000000 12 " + "ab" * 20 + " 0 noop\n") * 1000)[:size]
def cmd(*a):
    out = "*%d\r\n" % len(a)
    for x in a:
        out += "$%d\r\n%s\r\n" % (len(x.encode()), x)
    return out
sys.stdout.write("".join(cmd("XADD", "p:timeline", "MAXLEN", "~", "10000", "*", "node", "0" * 40, "events", payload) for _ in range(k)))
' "$size" | redis-cli -p "$port" --pipe >/dev/null 2>&1
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
        wait "$pid" 2>/dev/null
        tot+=("$(cg_total "$D/cg.out")")
    done
    awk -v z="${tot[0]:-0}" -v s="${tot[1]:-0}" -v l="${tot[2]:-0}" 'BEGIN {
        pb = (l - s) / 100 / (49152 - 1024); fx = (s - z) / 100 - 1024 * pb
        printf "%.0f %.3f\n", fx < 0 ? 0 : fx, pb < 0 ? 0 : pb }'
}
read -r XADD_FIXED XADD_BYTE < <(xadd_ir)
say "an XADD of timeline events costs Redis $XADD_FIXED instructions and $XADD_BYTE per byte"
for ((ti = 0; ti < ${#TREES[@]}; ti++)); do
[[ "${TREES[$ti]}" == *RAY_TIMELINE=0* ]] && continue # nothing of the timeline to count
for ((bi = 0; bi < ${#BENCHES[@]}; bi++)); do
rm -f "$OUT/attr.txt"
for ((r = 1; r <= ROUNDS; r++)); do
    S="$OUT/$r.$ti.$bi.1/cg" L="$OUT/$r.$ti.$bi.3/cg"
    [ -d "$S" ] && [ -d "$L" ] || continue
    grep -q "^${TREES[$ti]} ${BENCHES[$bi]} $r " "$OUT/raw.txt" || continue # a round left out
    # all instructions: the per-role totals one_run wrote to raw.txt
    tot=$(awk -v k="${TREES[$ti]} ${BENCHES[$bi]} $r" '$1 " " $2 " " $3 == k {
        printf "%.0f", $8 + $9 + $10 + $11 - $4 - $5 - $6 - $7; exit }' "$OUT/raw.txt")
    tl=0 mx=0
    for role in node redis worker driver; do
        tl=$((tl + $(fn_sum "$L" $role "$TL_FUNCS") - $(fn_sum "$S" $role "$TL_FUNCS")))
        tl=$((tl - $(fn_sum "$L" $role "$TL_MINUS") + $(fn_sum "$S" $role "$TL_MINUS")))
        mx=$((mx + $(fn_sum "$L" $role "$MX_FUNCS") - $(fn_sum "$S" $role "$MX_FUNCS")))
    done
    # the XADDs Redis took in the 20,000 extra operations and their bytes
    # (the stream read back whole: an upper bound of the events' bytes)
    xs=$(cat "$OUT/$r.$ti.$bi.1/xadds" 2>/dev/null || echo 0)
    xl=$(cat "$OUT/$r.$ti.$bi.3/xadds" 2>/dev/null || echo 0)
    bs=$(cat "$OUT/$r.$ti.$bi.1/xbytes" 2>/dev/null || echo 0)
    bl=$(cat "$OUT/$r.$ti.$bi.3/xbytes" 2>/dev/null || echo 0)
    echo "$r $tot $tl $mx $((xl - xs)) $((bl - bs))" >>"$OUT/attr.txt"
done
[ -s "$OUT/attr.txt" ] || continue
awk -v ops=$((2 * PER_RUN)) -v xfx="$XADD_FIXED" -v xpb="$XADD_BYTE" -v tree="${TREES[$ti]}" -v b="${BENCHES[$bi]}" -v json="${INSTR_JSON:-0}" '
{ n++; tot[n] = $2 / ops; xr[n] = ($5 * xfx + $6 * xpb) / ops; tl[n] = $3 / ops + xr[n]; mx[n] = $4 / ops }
function med(a, c,    i, j, t, w) {
    for (i = 1; i <= c; i++) w[i] = a[i]
    for (i = 2; i <= c; i++) { t = w[i]; for (j = i - 1; j >= 1 && w[j] > t; j--) w[j + 1] = w[j]; w[j + 1] = t }
    lo = w[1]; hi = w[c]
    return c % 2 ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
}
END { if (!n) exit
    for (i = 1; i <= n; i++) { ptl[i] = 100 * tl[i] / tot[i]; pmx[i] = 100 * mx[i] / tot[i]; pall[i] = ptl[i] + pmx[i] }
    T = med(tot, n); L = med(tl, n); M = med(mx, n); X = med(xr, n)
    PL = med(ptl, n); pl_lo = lo; pl_hi = hi; PM = med(pmx, n); pm_lo = lo; pm_hi = hi
    PA = med(pall, n); pa_lo = lo; pa_hi = hi
    if (json) {
        printf "{\"benchmark\": \"%s_timeline_instr_pct\", \"value\": %.3f, \"unit\": \"%%\", \"runs\": %d, \"min\": %.3f, \"max\": %.3f, \"note\": \"%.0f of %.0f instructions per operation in the timeline code, all processes\"}\n", b, PL, n, pl_lo, pl_hi, L, T
        printf "{\"benchmark\": \"%s_metrics_instr_pct\", \"value\": %.3f, \"unit\": \"%%\", \"runs\": %d, \"min\": %.3f, \"max\": %.3f, \"note\": \"%.0f of %.0f instructions per operation in the metrics code, all processes\"}\n", b, PM, n, pm_lo, pm_hi, M, T
        printf "{\"benchmark\": \"%s_observability_instr_pct\", \"value\": %.3f, \"unit\": \"%%\", \"runs\": %d, \"min\": %.3f, \"max\": %.3f}\n", b, PA, n, pa_lo, pa_hi
    } else {
        printf "%s, %s: %.0f instructions per operation over the node, Redis, workers and driver (median of %d rounds)\n", tree, b, T, n
        printf "  timeline: %.0f per operation = %.2f %% (rounds %.2f-%.2f %%), of which Redis appending the events: %.0f\n", L, PL, pl_lo, pl_hi, X
        printf "  metrics:  %.0f per operation = %.2f %% (rounds %.2f-%.2f %%)\n", M, PM, pm_lo, pm_hi
        printf "  together: %.2f %% (rounds %.2f-%.2f %%)\n", PA, pa_lo, pa_hi
    }
}' "$OUT/attr.txt"
done
done
echo "(raw lines: $OUT/raw.txt: tree benchmark round node redis workers driver of the small run, then of the large run)" >&2
