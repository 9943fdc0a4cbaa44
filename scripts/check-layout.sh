#!/usr/bin/env bash
# check-layout.sh — the folders' include graph stays a one-way street
# (issue 9, docs/architecture.md "Folders and who calls whom").
#
# Reads every `#include "FOLDER/..."` (and "ray*.h": include/) of the
# sources in the tree's top-level folders, and fails with one line per
# problem when:
#   - cli/ includes daemon/ or daemon/ includes cli/ (what they share lives
#     in session/, state/, common/ ...);
#   - objmgr/ includes daemon/ (the runtime reaches the object manager
#     through objmgr/objmgr.h, and is called back through its ops table);
#   - the folders' include graph has a cycle (tsort finds it).
# Checks the tree it lives in (make test runs it), or LAYOUT_ROOT if set
# (tests/integration/test_layout.sh plants bad includes in a copy). Exit 0
# when clean, 1 with one line per problem.
set -u
cd "${LAYOUT_ROOT:-$(dirname "$0")/..}" || exit 2

folders="api cli cmd common daemon gcs launcher libs objmgr objstore sched session state"
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for f in $folders; do
    [ -d "$f" ] || continue
    find "$f" -name '*.[ch]' -print0 | while IFS= read -r -d '' src; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src" |
        while IFS= read -r inc; do
            case "$inc" in
            ray*.h) to=include ;;
            */*) to=${inc%%/*} ;;
            *) continue ;; # a file of the same folder
            esac
            [ "$to" = "$f" ] && continue
            echo "$f $to $src $inc"
        done
    done
done >"$edges"

bad=0
while read -r from to src inc; do
    case "$from>$to" in
    "cli>daemon" | "daemon>cli" | "objmgr>daemon")
        echo "check-layout: $src includes \"$inc\": $from/ must not include $to/"
        bad=1
        ;;
    esac
done <"$edges"

# tsort lists a loop on stderr when the folder graph has one
loop=$(awk '{print $1, $2}' "$edges" | sort -u | tsort 2>&1 >/dev/null)
if [ -n "$loop" ]; then
    echo "check-layout: the folders include each other in a cycle:"
    echo "$loop" | sed 's/^tsort: /  /'
    bad=1
fi
exit $bad
