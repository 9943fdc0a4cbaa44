# test_spill.sh — a small object store fills, least recently used objects
# spill to disk and come back intact on ray_get.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_semantics.so
P=$(free_port)
H=$T/head
TEMP_DIRS+=("$H")
"$RAY" start --head --port "$P" --node-ip-address 127.0.0.1 --temp-dir "$H" --num-cpus 2 \
    --object-store-memory 128MiB >/dev/null 2>&1
check "head starts with a 128 MiB store" test -f "$H/session_latest/rayd.pid"
timeout 180 "$RAY" submit --address "127.0.0.1:$P" --temp-dir "$H" "$JOB" -- spill 10 30 >"$T/out" 2>&1
rc=$?
check "300 MiB through a 128 MiB store (rc=$rc): $(tail -1 "$T/out")" test $rc -eq 0
timeout 60 "$RAY" submit --address "127.0.0.1:$P" --temp-dir "$H" "$JOB" -- enomem 100 60 >"$T/out2" 2>&1
check_out "a create that cannot fit beside pinned objects: RAY_ENOMEM, asked and pinned" "$T/out2" "^enomem: .*asked.*pinned"
"$RAY" stop --temp-dir "$H" >/dev/null
finish
