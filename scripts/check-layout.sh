#!/usr/bin/env bash
# check-layout.sh — the folders' include graph stays a one-way street
# (issue 9, docs/architecture.md "Folders and who calls whom").
#
# Reads every `#include "FOLDER/..."` (and "ray*.h": include/) of the
# sources in the tree's top-level folders, and fails with one line per
# problem when:
#   - cli/ includes daemon/ or daemon/ includes cli/ (what they share lives
#     in session/, state/, common/ ...);
#   - objmgr/ includes daemon/ or runtime/ (the runtime reaches the object
#     manager through objmgr/objmgr.h, and is called back through its ops
#     table);
#   - a file outside runtime/ includes a header of runtime/ other than its
#     public face, runtime/runtime.h (where `struct runtime` is opaque);
#   - runtime/ includes a daemon/ header other than the process plumbing it
#     is given (DAEMON_BASE: the node context, connections, the helper
#     thread). Those plumbing files form their own layer, "daemon-base",
#     below the runtime, so the cycle check sees daemon-base <- runtime <-
#     daemon (node.c, heartbeats, /metrics, recovery) and nothing back;
#   - a header of runtime/ defines a struct (`struct NAME {`) not in
#     RUNTIME_VALUE_TYPES (plain value types passed by value or filled by
#     the caller) or RUNTIME_CONTEXT (struct runtime: pointers only;
#     docs/architecture.md "The runtime's seams");
#   - the folders' include graph has a cycle (tsort finds it).
# Checks the tree it lives in (make test runs it), or LAYOUT_ROOT if set
# (tests/integration/test_layout.sh plants bad includes in a copy). Exit 0
# when clean, 1 with one line per problem.
set -u
cd "${LAYOUT_ROOT:-$(dirname "$0")/..}" || exit 2

folders="api cli cmd common daemon gcs launcher libs objmgr objstore runtime sched session state"
# daemon/'s process plumbing, below the runtime (the runtime may include these)
DAEMON_BASE="daemon/node.h daemon/server.h daemon/server.c daemon/bio.h daemon/bio.c
             daemon/redis_launch.h daemon/redis_launch.c"
# structs a runtime/ header may define: plain values, documented as such there
RUNTIME_VALUE_TYPES="runtime_stats spec_fields workers_spawn_result"
# the runtime's context (runtime/internal.h): the node, the shared pointers,
# and one pointer to each module's state, whose struct is private to its .c
RUNTIME_CONTEXT="runtime"
layer() { # FILE: its node in the folder graph
    case " $(echo $DAEMON_BASE) " in *" $1 "*) echo daemon-base; return ;; esac
    echo "${1%%/*}"
}
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for f in $folders; do
    [ -d "$f" ] || continue
    find "$f" -name '*.[ch]' -print0 | while IFS= read -r -d '' src; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src" |
        while IFS= read -r inc; do
            case "$inc" in
            ray*.h) to=include ;;
            */*) to=$(layer "$inc") ;;
            *) continue ;; # a file of the same folder
            esac
            from=$(layer "$src")
            [ "$to" = "$from" ] && continue
            echo "$from $to $src $inc"
        done
    done
done >"$edges"

bad=0
while read -r from to src inc; do
    case "$from>$to" in
    "cli>daemon"* | "daemon"*">cli" | "objmgr>daemon"* | "objmgr>runtime")
        echo "check-layout: $src includes \"$inc\": ${from%-base}/ must not include ${to%-base}/"
        bad=1
        ;;
    "runtime>daemon")
        echo "check-layout: $src includes \"$inc\": runtime/ may include only daemon/'s plumbing ($(echo $DAEMON_BASE | tr ' ' '\n' | grep '\.h$' | tr '\n' ' ' | sed 's/ $//'))"
        bad=1
        ;;
    *">runtime")
        if [ "$inc" != runtime/runtime.h ]; then
            echo "check-layout: $src includes \"$inc\": outside runtime/ only runtime/runtime.h may be included"
            bad=1
        fi
        ;;
    esac
done <"$edges"

# runtime/'s headers define only the structs allowed above
if [ -d runtime ]; then
    allowed=" $(echo $RUNTIME_VALUE_TYPES $RUNTIME_CONTEXT) "
    while IFS=: read -r hdr line name; do
        case "$allowed" in *" $name "*) continue ;; esac
        echo "check-layout: $hdr:$line defines struct $name: a runtime/ header may define only plain value types ($RUNTIME_VALUE_TYPES); define it in the .c file that owns it"
        bad=1
    done < <(grep -Hn -o '\bstruct[[:space:]]\+[A-Za-z_][A-Za-z_0-9]*[[:space:]]*{' runtime/*.h 2>/dev/null |
             sed 's/struct[[:space:]]*\([A-Za-z_0-9]*\)[[:space:]]*{$/\1/')
fi

# tsort lists a loop on stderr when the folder graph has one
loop=$(awk '{print $1, $2}' "$edges" | sort -u | tsort 2>&1 >/dev/null)
if [ -n "$loop" ]; then
    echo "check-layout: the folders include each other in a cycle:"
    echo "$loop" | sed 's/^tsort: /  /'
    bad=1
fi
exit $bad
