# test_layout.sh — scripts/check-layout.sh (issue 9) passes on the tree as
# it is, and fails, naming the file and the include, on a copy of it with a
# cli/ -> daemon/ include, a daemon/ -> cli/ include, an objmgr/ -> daemon/
# include, or an include cycle between two folders that may otherwise
# include each other's headers.
source "$(dirname "$0")/lib.sh"

CHK="$ROOT/scripts/check-layout.sh"
bash "$CHK" >"$T/out" 2>&1
check "the tree as it is passes" test $? -eq 0
check "... silently" test ! -s "$T/out"

# a copy of the sources (only what the script reads)
copy() {
    rm -rf "$T/tree" && mkdir -p "$T/tree"
    (cd "$ROOT" && find api cli cmd common daemon gcs launcher libs objmgr objstore sched session state \
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
plant objmgr/objmgr.c runtime/runtime_internal.h
check "an objmgr/ -> daemon/ include fails" test $? -ne 0
check "... naming it" grep -q 'objmgr/objmgr.c includes "runtime/runtime_internal.h"' "$T/out"
plant sched/resources.c session/config.h   # session/ includes sched/ already
check "a cycle between folders (sched <-> session) fails" test $? -ne 0
check "... saying it is a cycle and naming the folders" \
    bash -c "grep -q 'in a cycle' '$T/out' && grep -qw sched '$T/out' && grep -qw session '$T/out'"
finish
