# trees.sh — sourced by bench/cpu_cost.sh and bench/instr_cost.sh, which
# compare built checkouts ("trees") benchmark by benchmark:
#   trees_args USAGE "$@"   sets TREES (each "TREE" or "TREE:VAR=VALUE") and
#                           BENCHES (what follows "--"); exits 2 with USAGE
#                           when no tree is given
#   trees_build             builds each tree's bench_driver and bench_job.so
#                           (as bench/run.sh does) unless they are there and
#                           newer than lib/libray.a and their sources;
#                           exits 1 naming the tree whose build failed

trees_args() {
    local usage=$1
    shift
    TREES=() BENCHES=()
    while [ $# -gt 0 ]; do
        [ "$1" = -- ] && { shift; BENCHES=("$@"); break; }
        TREES+=("$1"); shift
    done
    [ ${#TREES[@]} -ge 1 ] || { echo "usage: $usage" >&2; exit 2; }
}

trees_build() {
    local spec tree
    local warn="-Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers"
    for spec in "${TREES[@]}"; do
        tree=${spec%%:*}
        # there and newer than the library and the sources: kept (a driver
        # older than lib/libray.a would measure the old client code)
        [ -x "$tree/build/bench/bench_driver" ] && [ -f "$tree/build/bench/bench_job.so" ] &&
            [ "$tree/build/bench/bench_driver" -nt "$tree/lib/libray.a" ] &&
            [ "$tree/build/bench/bench_driver" -nt "$tree/bench/bench_driver.c" ] &&
            [ "$tree/build/bench/bench_job.so" -nt "$tree/bench/bench_job.c" ] && continue
        mkdir -p "$tree/build/bench"
        (cd "$tree" && cc -std=gnu11 -O2 -g $warn -Iinclude bench/bench_driver.c -rdynamic -Llib -lray \
            -lpthread -ldl -lm -o build/bench/bench_driver &&
            cc -std=gnu11 -shared -fPIC -O2 -g $warn -Iinclude bench/bench_job.c -o build/bench/bench_job.so) ||
            { echo "$tree: bench programs failed to build" >&2; exit 1; }
    done
}
