# test_layout.sh — scripts/check-layout.sh (issue 9) passes on the tree as
# it is, and fails, naming the file and the include, on a copy of it with a
# cli/ -> daemon/ include, a daemon/ -> cli/ include, an objmgr/ -> daemon/
# include, or an include cycle between two folders that may otherwise
# include each other's headers; and that the runtime stays behind its
# opaque runtime/runtime.h: a daemon/ file including a runtime/ internal
# header, runtime/ including a daemon/ header that is not plumbing, daemon/'s
# plumbing including the runtime (a cycle), or a struct defined in a
# runtime/ header outside the allow-list each fail, naming what.
source "$(dirname "$0")/lib.sh"

CHK="$ROOT/scripts/check-layout.sh"
bash "$CHK" >"$T/out" 2>&1
check "the tree as it is passes" test $? -eq 0
check "... silently" test ! -s "$T/out"

# a copy of the sources (only what the script reads)
copy() {
    rm -rf "$T/tree" && mkdir -p "$T/tree"
    (cd "$ROOT" && find api cli cmd common daemon gcs launcher libs objmgr objstore runtime sched session state \
        -name '*.[ch]' -print0 | tar --null -T - -cf -) | tar -xf - -C "$T/tree"
}
copy
LAYOUT_ROOT="$T/tree" bash "$CHK" >"$T/out" 2>&1
check "the copy passes too" test $? -eq 0

plant() { # FILE INCLUDE: add the include to FILE of the copy, run the check
    copy
    printf '#include "%s"\n' "$2" >>"$T/tree/$1"
    LAYOUT_ROOT="$T/tree" bash "$CHK" >"$T/out" 2>&1
}
plant cli/list.c daemon/server.h
check "a cli/ -> daemon/ include fails" test $? -ne 0
check "... naming the file and the include" grep -q 'cli/list.c includes "daemon/server.h": cli/ must not include daemon/' "$T/out"
plant daemon/dashboard.c cli/cli.h
check "a daemon/ -> cli/ include fails" test $? -ne 0
check "... naming it" grep -q 'daemon/dashboard.c includes "cli/cli.h"' "$T/out"
plant objmgr/objmgr.c runtime/internal.h
check "an objmgr/ -> daemon/ include fails" test $? -ne 0
check "... naming it" grep -q 'objmgr/objmgr.c includes "runtime/internal.h"' "$T/out"
plant sched/resources.c session/config.h   # session/ includes sched/ already
check "a cycle between folders (sched <-> session) fails" test $? -ne 0
check "... saying it is a cycle and naming the folders" \
    bash -c "grep -q 'in a cycle' '$T/out' && grep -qw sched '$T/out' && grep -qw session '$T/out'"
plant daemon/metrics.c runtime/internal.h
check "a daemon/ file including a runtime/ internal header fails" test $? -ne 0
check "... naming it" grep -q 'daemon/metrics.c includes "runtime/internal.h": outside runtime/ only runtime/runtime.h' "$T/out"
plant runtime/tasks.c daemon/metrics.h
check "runtime/ including a daemon/ header that is not plumbing fails" test $? -ne 0
check "... naming it" grep -q "runtime/tasks.c includes \"daemon/metrics.h\": runtime/ may include only daemon/'s plumbing" "$T/out"
plant daemon/server.c runtime/runtime.h
check "daemon/'s plumbing including the runtime (a cycle) fails" test $? -ne 0
check "... as a cycle of daemon-base and runtime" \
    bash -c "grep -q 'in a cycle' '$T/out' && grep -qw daemon-base '$T/out' && grep -qw runtime '$T/out'"
plant runtime/observe.h 'common/ids.h'
printf 'struct observe_state {\n    int x;\n};\n' >>"$T/tree/runtime/observe.h"
LAYOUT_ROOT="$T/tree" bash "$CHK" >"$T/out" 2>&1
check "a struct defined in a runtime/ header fails" test $? -ne 0
check "... naming the header, the line and the struct" \
    grep -q 'runtime/observe.h:[0-9]* defines struct observe_state' "$T/out"
plant objmgr/objmgr.c runtime/runtime.h
check "an objmgr/ -> runtime/ include fails" test $? -ne 0
check "... naming it" grep -q 'objmgr/objmgr.c includes "runtime/runtime.h": objmgr/ must not include runtime/' "$T/out"
finish
