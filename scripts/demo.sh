#!/usr/bin/env bash
# demo.sh — `make demo`: start a one-node cluster with its own Redis in a
# temporary directory, submit the Monte-Carlo pi job, show `ray status`, and
# stop the cluster again.
set -u
cd "$(dirname "$0")/.."
RAY=$PWD/bin/ray
TMP=$(mktemp -d /tmp/ray-demo.XXXXXX)
export HOME=$TMP/home   # the demo cluster's token stays in the temp dir
mkdir -p "$HOME"
source scripts/free_port.sh
PORT=$(free_port)
cleanup() { "$RAY" stop --temp-dir "$TMP/ray" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

# each command is shown as it is run, so that it can be typed again
show() { echo "\$ ray $*"; "$RAY" "$@"; }
show start --head --port "$PORT" --node-ip-address 127.0.0.1 --temp-dir "$TMP/ray" \
    --object-store-memory 512MiB || exit 1
echo
show submit --temp-dir "$TMP/ray" examples/build/job_pi.so -- 2000 20000
rc=$?
echo
show status --temp-dir "$TMP/ray"
echo
show stop --temp-dir "$TMP/ray"
exit $rc
