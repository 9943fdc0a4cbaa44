#!/usr/bin/env bash
# serve.sh — Serve's figures for `make bench` (called by run.sh with the
# running head's temp dir): a no-op handler with 2 replicas behind the
# proxy, then a plain evhttp hello-world server (bench/serve_floor.c), each
# driven by the same `wrk -t2 -c64 -d${BENCH_SERVE_SECONDS:-10}s --latency`
# in the same run. Prints JSON lines: serve_qps, serve_latency_p50_ms,
# serve_latency_p99_ms, serve_floor_qps, serve_floor_latency_p99_ms,
# serve_fraction_of_floor.
#   serve.sh RAY HEAD_TEMP_DIR WORK_DIR
set -u
RAY=$1 H=$2 T=$3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/free_port.sh"
SECS=${BENCH_SERVE_SECONDS:-10}
say() { printf 'bench: %s\n' "$*" >&2; }
null() { printf '{"benchmark": "%s", "value": null, "unit": "%s", "note": "%s"}\n' "$1" "$2" "$3"; }
command -v wrk >/dev/null || { null serve_qps req/s "wrk is not installed"; exit 0; }
cc -std=gnu11 -O2 -shared -fPIC -Iinclude tests/integration/jobs/job_serve.c -o "$T/job_serve.so" &&
    cc -std=gnu11 -O2 bench/serve_floor.c -o "$T/serve_floor" -levent ||
    { null serve_qps req/s "build failed"; exit 0; }

# wrk_run URL OUT: the run's req/s, p50 and p99 in ms on stdout
wrk_run() {
    wrk -t2 -c64 -d"${SECS}s" --latency "$1" >"$2" 2>&1
    awk '
        function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
        /Requests\/sec:/ { q = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s %s\n", q, p50, p99, bad + 0 }' "$2"
}

HP=$(free_port)
cat >"$T/serve_bench.yaml" <<YAML
http_options: {host: 127.0.0.1, port: $HP}
applications:
  - name: bench
    route_prefix: /
    deployments:
      - name: noop
        num_replicas: 2
        max_ongoing_requests: 64
YAML
say "serve: a no-op handler, 2 replicas, wrk -t2 -c64 -d${SECS}s"
if ! timeout 120 "$RAY" serve deploy --temp-dir "$H" "$T/job_serve.so" "$T/serve_bench.yaml" >"$T/sd.out" 2>&1; then
    null serve_qps req/s "ray serve deploy failed: $(tail -1 "$T/sd.out" | tr -d '"\\')"
    exit 0
fi
curl -s -m 10 "http://127.0.0.1:$HP/" >/dev/null   # warm
read -r q p50 p99 bad < <(wrk_run "http://127.0.0.1:$HP/" "$T/wrk_serve")
say "  proxy: $q req/s, p50 $p50 ms, p99 $p99 ms, $bad non-2xx"
timeout 60 "$RAY" serve delete bench --temp-dir "$H" >/dev/null 2>&1

FP=$(free_port)
"$T/serve_floor" "$FP" &
fpid=$!
sleep 0.3
read -r fq fp50 fp99 fbad < <(wrk_run "http://127.0.0.1:$FP/" "$T/wrk_floor")
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
say "  plain evhttp: $fq req/s, p50 $fp50 ms, p99 $fp99 ms"
frac=$(awk -v a="$q" -v b="$fq" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
printf '{"benchmark": "serve_qps", "value": %s, "unit": "req/s", "runs": 1, "min": %s, "max": %s, "note": "%s non-2xx"}\n' "${q:-null}" "${q:-0}" "${q:-0}" "$bad"
printf '{"benchmark": "serve_latency_p50_ms", "value": %s, "unit": "ms", "runs": 1, "min": %s, "max": %s}\n' "${p50:-null}" "${p50:-0}" "${p50:-0}"
printf '{"benchmark": "serve_latency_p99_ms", "value": %s, "unit": "ms", "runs": 1, "min": %s, "max": %s}\n' "${p99:-null}" "${p99:-0}" "${p99:-0}"
printf '{"benchmark": "serve_floor_qps", "value": %s, "unit": "req/s", "runs": 1, "min": %s, "max": %s}\n' "${fq:-null}" "${fq:-0}" "${fq:-0}"
printf '{"benchmark": "serve_floor_latency_p99_ms", "value": %s, "unit": "ms", "runs": 1, "min": %s, "max": %s}\n' "${fp99:-null}" "${fp99:-0}" "${fp99:-0}"
printf '{"benchmark": "serve_fraction_of_floor", "value": %s, "unit": "ratio", "runs": 1, "min": %s, "max": %s}\n' "$frac" "$frac" "$frac"
