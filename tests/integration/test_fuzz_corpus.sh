# test_fuzz_corpus.sh — every `make fuzz` target still builds, and replays
# its seed corpus without a crash, a failed check or a sanitizer report
# (nothing else builds the fuzz targets, so they broke unnoticed twice).
# Each target fuzz_X replays tests/fuzz/corpus_X/ (fuzz_proto:
# tests/fuzz/corpus/, fuzz_launcher_config: corpus_launcher/; fuzz_node's
# are 23 programs kept from a 60 s run, spread over sizes), each file
# once, as libFuzzer does when given files: no fuzzing, nothing written.
# A target without seeds fails: add a few to its corpus folder.
# Skipped (exit 77) only where clang cannot link libFuzzer (it is installed
# by scripts/install-deps.sh: clang, libclang-rt-*-dev).
# `make test` builds the targets before the integration tests start (two
# at a time, outside this test's time limit); here `make fuzz` finds them
# up to date unless a source changed since.
# Cost: the first build of every target (fuzz_node compiles the whole
# daemon with ASan and UBSan, one object per source, in parallel) took
# 122 s of CPU on the 2-core VM (187 s of wall time there at load 5.5; about
# 65 s on two idle cores); later runs rebuild only what changed (build/fuzz/
# is kept). The replays take about 3 s.
source "$(dirname "$0")/lib.sh"

if ! command -v clang >/dev/null 2>&1 ||
    ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
        clang -x c -fsanitize=fuzzer - -o "$T/probe" >"$T/probe.out" 2>&1; then
    log "skipped: clang with libFuzzer is missing ($(tail -1 "$T/probe.out" 2>/dev/null)); scripts/install-deps.sh installs it"
    rm -rf "$T"
    exit 77
fi
rm -f "$T/probe" "$T/probe.out" # (its strings would read as a sanitizer report)

t0=$(date +%s)
timeout 260 make -C "$ROOT" --no-print-directory -j"${RAY_FUZZ_JOBS:-2}" fuzz >"$T/build.out" 2>&1
rc=$?
[ $rc -eq 124 ] && log "make fuzz did not finish in 260 s (a loaded machine?)"
check "make fuzz builds every target (rc=$rc, $(($(date +%s) - t0)) s)" test $rc -eq 0
[ $rc -eq 0 ] || grep -E "error|Error" "$T/build.out" | head -10 | sed 's/^/      | /'

targets=$(make -C "$ROOT" --no-print-directory -s fuzz-list)
check "make fuzz-list names the targets ($(echo $targets | wc -w))" test -n "$targets"

corpus_of() {
    case $1 in
    fuzz_proto) echo corpus ;;
    fuzz_launcher_config) echo corpus_launcher ;;
    *) echo "corpus_${1#fuzz_}" ;;
    esac
}

# the fuzzers' own sanitizer settings, not lib.sh's (leaks count here)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$T/run" "$T/tmp"
for t in $targets; do
    name=$(basename "$t")
    bin=$ROOT/$t
    dir=$ROOT/tests/fuzz/$(corpus_of "$name")
    if [ ! -x "$bin" ]; then
        fail "$name: not built"
        continue
    fi
    files=("$dir"/*)
    if [ ! -d "$dir" ] || [ ! -e "${files[0]}" ]; then
        fail "$name: no seed corpus (add inputs to tests/fuzz/$(corpus_of "$name")/)"
        continue
    fi
    s0=$(date +%s)
    (cd "$T/run" && TMPDIR="$T/tmp" timeout 60 "$bin" -artifact_prefix="$T/run/$name-" \
        -rss_limit_mb=4096 -timeout=30 "${files[@]}") >"$T/$name.out" 2>&1
    rc=$?
    ran=$(grep -c '^Executed ' "$T/$name.out")
    check "$name replays its ${#files[@]} seeds from $(basename "$dir")/ (rc=$rc, $ran run, $(($(date +%s) - s0)) s)" \
        test $rc -eq 0 -a "$ran" -eq ${#files[@]}
    if [ $rc -ne 0 ]; then
        grep -E "ERROR|runtime error|Running:|SUMMARY|deadly|==[0-9]+==" "$T/$name.out" | head -12 | sed 's/^/      | /'
    fi
done
rm -rf "$T/run" "$T/tmp"
finish
