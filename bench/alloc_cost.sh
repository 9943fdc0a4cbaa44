#!/usr/bin/env bash
# alloc_cost.sh — heap allocations the node (rayd --head) makes per task or
# actor call, counted by an LD_PRELOAD shim of bench/ (malloc_count.c, built
# here into /tmp), never by the product itself.
#
#   bench/alloc_cost.sh TREE[:VAR=VALUE]... [-- BENCHMARK...]
#
# Per tree (":VAR=VALUE" sets a variable for the head and the driver, e.g.
# "/w:RAY_DIRECT=0" for the node path) and benchmark (default
# single_client_tasks_async actor_calls_async_1_1): a fresh head with the
# shim preloaded (only the node counts: MALLOC_COUNT_MATCH), a first driver
# run that warms it up, then the driver twice, with BENCH_RUNS=1 and 3 (a
# warm-up pass of 10,000 operations and 1 or 3 passes): the node's count is
# read before, between and after the two, and its allocations per operation
# are (second run's - first run's) / 20,000, so the driver's connection and
# warm-up cancel out; where the two runs took different paths (on the direct
# path some tasks go through the node, more in one run than the other) that
# difference swings, and "whole second run" (its allocations over its 40,000
# operations, connection and warm-up pass included: an upper bound) is the
# steadier figure. With SITES=1 the shim also
# records call stacks and the script prints the node's top sites of the
# second run (counts per operation, stacks named by addr2line).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/bench/trees.sh"
trees_args "bench/alloc_cost.sh TREE[:VAR=VALUE]... [-- BENCHMARK...]" "$@"
[ ${#BENCHES[@]} -ge 1 ] || BENCHES=(single_client_tasks_async actor_calls_async_1_1)
PER_RUN=10000
source "$ROOT/scripts/free_port.sh"
say() { printf 'alloc_cost: %s\n' "$*" >&2; }
SHIM=$(mktemp /tmp/malloc_count.XXXXXX.so)
cc -O2 -g -shared -fPIC "$ROOT/bench/malloc_count.c" -o "$SHIM" || { say "shim failed to build"; exit 1; }
trees_build

allocs() { od -An -t u8 -N8 "$1" | tr -d ' '; }

for spec in "${TREES[@]}"; do
    tree=${spec%%:*} env=""
    [ "$tree" != "$spec" ] && env=${spec#*:}
    for b in "${BENCHES[@]}"; do
        T=$(mktemp -d /tmp/rayalloc.XXXXXX)
        mkdir -p "$T/home" "$T/mc"
        port=$(free_port)
        (
            export HOME="$T/home"
            unset RAY_ADDRESS RAY_TOKEN
            [ -n "$env" ] && export "${env?}"
            LD_PRELOAD=$SHIM MALLOC_COUNT_DIR=$T/mc MALLOC_COUNT_MATCH="rayd --head" MALLOC_COUNT_SITES=${SITES:-0} \
                "$tree/bin/ray" start --head --port "$port" --node-ip-address 127.0.0.1 \
                --temp-dir "$T/head" --num-cpus 2 --object-store-memory 1GiB >"$T/start.out" 2>&1 ||
                { say "head did not start: $(tail -1 "$T/start.out")"; exit 1; }
            rayd=$(cat "$T/head/session_latest/rayd.pid")
            f=$T/mc/count.$rayd
            drv=("$tree/build/bench/bench_driver" "127.0.0.1:$port" "$tree/build/bench/bench_job.so" "$b")
            # a first run warms the node up (its workers, buffers and arenas grow)
            BENCH_RUNS=1 "${drv[@]}" >"$T/d0.out" 2>&1 || say "driver failed: $(tail -1 "$T/d0.out")"
            sleep 1.5 # the task records held back (1 s) go out
            a0=$(allocs "$f")
            [ "${SITES:-0}" = 1 ] && cp "$f" "$T/sites.start"
            BENCH_RUNS=1 "${drv[@]}" >"$T/d1.out" 2>&1 || say "driver failed: $(tail -1 "$T/d1.out")"
            sleep 1.5
            a=$(allocs "$f")
            [ "${SITES:-0}" = 1 ] && cp "$f" "$T/sites.before"
            BENCH_RUNS=3 "${drv[@]}" >"$T/d3.out" 2>&1 || say "driver failed: $(tail -1 "$T/d3.out")"
            sleep 1.5
            c=$(allocs "$f")
            [ "${SITES:-0}" = 1 ] && cp "$f" "$T/sites.after"
            "$tree/bin/ray" stop --temp-dir "$T/head" >/dev/null 2>&1
            awk -v s="$spec" -v b="$b" -v a0="$a0" -v a="$a" -v c="$c" -v ops=$((2 * PER_RUN)) \
                'BEGIN { printf "%-40s %-28s %8.2f allocs/op (node); whole second run %.2f/op\n", s, b, ((c - a) - (a - a0)) / ops, (c - a) / (2 * ops) }'
            if [ "${SITES:-0}" = 1 ]; then
                python3 "$ROOT/bench/alloc_sites.py" "$T/sites.start" "$T/sites.before" "$T/sites.after" \
                    "$T/mc/maps.$rayd" $((2 * PER_RUN)) "$tree/bin/rayd"
            fi
        )
        rm -rf "$T"
    done
done
rm -f "$SHIM"
