# test_serve.sh — Serve (issue 14) end to end on a two-node cluster, as a
# user sees it through curl and wrk: echo and compute handlers, keep-alive,
# a big body, prefix routing, a failing handler (500 + its message), a
# composed deployment, 503 past the queue limit, 504 past the request
# timeout, a replica killed under load, scale-up under load and scale-down
# after it with no request lost, ray serve status / delete, ray_serve_run
# from C, and bad YAML.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_serve.so
H=$T/head N2=$T/node2
P=$(free_port) HP=$(free_port) HP2=$(free_port)
start_head "$H" "$P" --num-cpus 2 >/dev/null 2>&1
start_node "$N2" 127.0.0.2 "127.0.0.1:$P" --num-cpus 2 --resources '{"side": 4}' >/dev/null 2>&1
check "two nodes start" test -f "$N2/session_latest/rayd.pid"
serve() { timeout 120 "$RAY" serve "$@" --temp-dir "$H"; }
U=http://127.0.0.1:$HP

cat >"$T/serve.yaml" <<YAML
proxy_location: HeadOnly
http_options:
  host: 127.0.0.1
  port: $HP
  request_timeout_s: 4
applications:
  - name: echo
    route_prefix: /echo
    deployments:
      - name: echo
        actor_class: echo
        num_replicas: 2
      - name: adder
        actor_class: adder
        init_args: [100]
  - name: root
    route_prefix: /
    deployments:
      - name: noop
  - name: slow
    route_prefix: /slow
    deployments:
      - name: slow
        max_ongoing_requests: 1
        max_queued_requests: 2
  - name: fragile
    route_prefix: /fragile
    deployments:
      - name: slow
        ray_actor_options: {max_restarts: 0}
  - name: chain
    route_prefix: /chain
    deployments:
      - name: front
        num_replicas: 2
      - name: back
        actor_class: slow
        autoscaling_config:
          min_replicas: 1
          max_replicas: 2
          target_ongoing_requests: 0.5
          upscale_delay_s: 0.5
          downscale_delay_s: 2
          look_back_period_s: 1
  - name: auto
    route_prefix: /auto
    deployments:
      - name: slow
        max_ongoing_requests: 2
        autoscaling_config:
          min_replicas: 1
          max_replicas: 3
          target_ongoing_requests: 1
          upscale_delay_s: 0.5
          downscale_delay_s: 2
          look_back_period_s: 1
YAML
serve deploy "$JOB" "$T/serve.yaml" >"$T/deploy" 2>&1
check_out "ray serve deploy deploys the six applications" "$T/deploy" '^deployed application auto at /auto'
# a second deploy (another job): its replicas on the other node, which has
# none of the first job's actors; the proxy (the first job's) calls them
cat >"$T/compute.yaml" <<YAML
http_options: {port: $HP}
applications:
  - name: compute
    route_prefix: /compute
    deployments:
      - name: compute
        num_replicas: 2
        max_ongoing_requests: 4
        ray_actor_options: {resources: {side: 1}}
YAML
serve deploy "$JOB" "$T/compute.yaml" >"$T/deploy2" 2>&1
check_out "a second ray serve deploy adds an application" "$T/deploy2" '^deployed application compute at /compute'

curl -s -m 10 -d hello "$U/echo/x?y=1" >"$T/c1"
check_out "echo: POST body comes back" "$T/c1" '^hello$'
code=$(curl -s -m 10 -o "$T/c2" -w '%{http_code} %{content_type}' -H 'X-Test: abc' "$U/echo/a/b?q=2")
check "echo: GET is 200 text/plain ($code)" test "$code" = "200 text/plain"
check_out "echo: method, path and query reach the handler" "$T/c2" '^GET /echo/a/b\?q=2$'
check_out "echo: request headers reach the handler" "$T/c2" '^x-test=abc$'
curl -s -m 10 "$U/compute?n=10" >"$T/c3"
check_out "compute: sum of squares 1..10 on the other node" "$T/c3" '^385$'

curl -sv -m 10 "$U/echo/1" "$U/echo/2" "$U/compute?n=3" >"$T/ka" 2>&1
check_out "keep-alive: three requests on one connection" "$T/ka" 'Re-using existing connection|Reusing existing connection'
n=$(grep -c '^< HTTP/1.1 200' "$T/ka")
check "keep-alive: all three answered 200 ($n)" test "$n" = 3

head -c 8000000 /dev/urandom >"$T/big"
curl -s -m 30 --data-binary @"$T/big" -H 'Content-Type: application/octet-stream' "$U/echo/big" >"$T/big.out"
check "a big body (8 MB) comes back byte for byte" cmp -s "$T/big" "$T/big.out"

curl -s -m 10 "$U/elsewhere" >"$T/r1"
curl -s -m 10 "$U/echox" >"$T/r2"
check_out "prefix: /elsewhere goes to the / application" "$T/r1" '^ok$'
check_out "prefix: /echox is not under /echo" "$T/r2" '^ok$'

code=$(curl -s -m 10 -o "$T/f" -w '%{http_code}' "$U/compute/fail")
check "a failing handler answers 500 ($code)" test "$code" = 500
check_out "the 500 carries the handler's message" "$T/f" 'compute refuses /compute/fail on purpose'

curl -s -m 10 "$U/echo/add?5" >"$T/comp"
check_out "composition: echo asks adder through a handle (100 + 5)" "$T/comp" '^105$'
code=$(curl -s -m 10 -o "$T/comp2" -w '%{http_code}' "$U/echo/add?x")
check "composition: the inner failure reaches the client ($code)" test "$code" = 500
check_out "composition: with the inner handler's message" "$T/comp2" "adder wants a number, got 'x'"

# metrics on the nodes' /metrics: the proxy's counters move by what was sent
MP=$(sed -n 's/^metrics_port=//p' "$H"/session_latest/node.info)
MP2=$(sed -n 's/^metrics_port=//p' "$N2"/session_latest/node.info)
AUTH="Authorization: Bearer $(cat "$H"/session_latest/auth_token)"
scrape() { curl -s -m 10 -H "$AUTH" "http://$1/metrics" >"$2"; }
# msum FILE NAME LABEL-REGEX...: the sum of NAME's samples whose labels match every regex
msum() {
    local f=$1 n=$2; shift 2
    awk -v n="$n" -v res="$*" 'BEGIN { k = split(res, re, " ") }
        index($0, n "{") == 1 { ok = 1; for (i = 1; i <= k; i++) if ($0 !~ re[i]) ok = 0; if (ok) s += $NF }
        END { print s + 0 }' "$f"
}
R='ray_serve_num_http_requests_total'
root_is() { scrape "127.0.0.1:$MP" "$T/m0"; [ "$(msum "$T/m0" $R application=.root. method=.PUT.)" = "$1" ]; }
# /elsewhere and /echox went to the root application before: two GETs, no PUT
check "metrics: the proxy's requests are on the head's /metrics" wait_for 10 bash -c \
    "curl -s -m 5 -H '$AUTH' http://127.0.0.1:$MP/metrics | grep -q '^$R{route=\"/\",application=\"root\",.*method=\"GET\",status_code=\"200\"} 2\$'"
scrape "127.0.0.1:$MP" "$T/m0"
lat0=$(msum "$T/m0" ray_serve_http_request_latency_ms_count application=.root.)
for i in 1 2 3 4 5 6 7; do curl -s -m 10 -o /dev/null -X PUT -d x "$U/put$i"; done
for i in 1 2 3; do curl -s -m 10 -o /dev/null -X DELETE "$U/compute/fail"; done
check "metrics: 7 PUTs counted as 7 (root, PUT, 200)" wait_for 10 root_is 7
check "metrics: 3 failing DELETEs counted as 3 errors (compute, DELETE, 500)" wait_for 10 bash -c \
    "curl -s -m 5 -H '$AUTH' http://127.0.0.1:$MP/metrics | grep -q '^ray_serve_num_http_error_requests_total{route=\"/compute\",application=\"compute\",.*method=\"DELETE\",error_code=\"500\"} 3\$'"
scrape "127.0.0.1:$MP" "$T/m1"
lat1=$(msum "$T/m1" ray_serve_http_request_latency_ms_count application=.root.)
inf1=$(msum "$T/m1" ray_serve_http_request_latency_ms_bucket application=.root. 'le=.\+Inf.')
check "metrics: the latency histogram counted the 7 ($lat0 -> $lat1, +Inf bucket $inf1)" \
    test "$((lat1 - lat0))" = 7 -a "$inf1" = "$lat1"
check "metrics: one TYPE line per family" bash -c \
    "[ \$(grep -c '^# TYPE ray_serve_num_http_requests_total ' '$T/m1') = 1 ]"
scrape "127.0.0.2:$MP2" "$T/m2"
cat "$T/m1" "$T/m2" >"$T/m12"
H_=ray_serve_deployment_replica_healthy
check "metrics: replicas per deployment, summed over the nodes (echo 2, adder 1, compute 2)" test \
    "$(msum "$T/m12" $H_ application=.echo. deployment=.echo.) $(msum "$T/m12" $H_ application=.echo. deployment=.adder.) $(msum "$T/m12" $H_ application=.compute.)" = "2 1 2"
check "metrics: nothing ongoing at the proxy now" test "$(msum "$T/m1" ray_serve_num_ongoing_http_requests application=.root.)" = 0
if command -v promtool >/dev/null; then
    # status 3 is lint advice (Ray's NodeId label is not snake_case); a parse error is 1
    promtool check metrics <"$T/m1" >"$T/promtool" 2>&1
    pst=$?
    check "metrics: promtool parses the head's /metrics (status $pst)" \
        bash -c "[ $pst = 0 -o $pst = 3 ] && ! grep -q 'error while linting' '$T/promtool'"
fi

# 503: one replica, one ongoing, two queued; eight at once
for i in 1 2 3 4 5 6 7 8; do curl -s -m 30 -o /dev/null -w '%{http_code}\n' "$U/slow?ms=2500" >>"$T/q" & done
wait
n503=$(grep -c '^503$' "$T/q"); n200=$(grep -c '^200$' "$T/q")
check "queue limit: 3 answered, 5 refused with 503 ($n200 ok, $n503 503)" test "$n200" = 3 -a "$n503" = 5
code=$(curl -s -m 20 -o "$T/to" -w '%{http_code}' "$U/slow?ms=6000")
check "a request past request_timeout_s gets 504 ($code)" test "$code" = 504

# a replica dying under a request: a POST fails cleanly (503), a GET is retried once
spid=$(curl -s -m 10 "$U/slow?ms=0" | awk '{print $4}')
curl -s -m 30 -o "$T/dpost" -w '%{http_code}' -d x "$U/slow?ms=3000" >"$T/dpost.code" &
cp1=$!
sleep 1
kill -9 "$spid" 2>/dev/null
wait $cp1
check "a POST whose replica died gets 503 ($(cat "$T/dpost.code"))" test "$(cat "$T/dpost.code")" = 503
check_out "... saying the replica died" "$T/dpost" 'the replica died'
spid=$(wait_for 20 bash -c "curl -sf -m 5 '$U/slow?ms=0' | grep -q pid" && curl -s -m 10 "$U/slow?ms=0" | awk '{print $4}')
curl -s -m 30 -o "$T/dget" -w '%{http_code}' "$U/slow?ms=2000" >"$T/dget.code" &
cp1=$!
sleep 1
kill -9 "$spid" 2>/dev/null
wait $cp1
check "a GET whose replica died is retried on the restarted one: 200 ($(cat "$T/dget.code"))" test "$(cat "$T/dget.code")" = 200
# a replica without restarts that dies is replaced by its controller
fpid=$(curl -s -m 10 "$U/fragile?ms=0" | awk '{print $4}')
kill -9 "$fpid" 2>/dev/null
new_pid() { local p; p=$(curl -s -m 5 "$U/fragile?ms=0" | awk '$1 == "slept" {print $4}'); [ -n "$p" ] && [ "$p" != "$fpid" ]; }
check "a replica with max_restarts 0 that died is replaced (was $fpid)" wait_for 20 new_pid
# a client that goes away mid-request leaves the proxy serving
curl -s -m 1 "$U/slow?ms=2500" >/dev/null 2>&1
sleep 2
curl -s -m 10 "$U/echo/after" >"$T/gone"
check_out "a client gone mid-request: the proxy goes on" "$T/gone" '^GET /echo/after'

# a replica killed under load
pid=$(curl -s -m 10 "$U/compute/pid")
wrk -t2 -c16 -d6s "$U/compute?n=100" >"$T/wrk_kill" 2>&1 &
wp=$!
sleep 2
kill -9 "$pid" 2>/dev/null
check "a compute replica was killed ($pid)" wait_for 5 bash -c "! kill -0 $pid"
timeout 30 bash -c "wait $wp" 2>/dev/null; wait $wp 2>/dev/null
check_out "wrk under the kill finished (no hang)" "$T/wrk_kill" 'Requests/sec'
total=$(awk '/requests in/ {print $1}' "$T/wrk_kill")
bad=$(awk '/Non-2xx/ {print $NF}' "$T/wrk_kill"); bad=${bad:-0}
check "errors under the kill are bounded ($bad of $total)" test "$bad" -le 20 -a "${total:-0}" -gt 100
code=$(wait_for 20 bash -c "curl -sf -m 5 '$U/compute?n=3' | grep -q '^14$'" && echo ok)
check "compute answers again after the restart" test "$code" = ok

# autoscaling: eight concurrent clients with target 1 → up; then down, losing nothing
wrk -t2 -c8 -d6s "$U/auto?ms=50" >"$T/wrk_auto" 2>&1 &
wp=$!
check "scale-up under load: the auto deployment reaches 3 replicas" \
    wait_for 15 bash -c "timeout 10 '$RAY' serve status --temp-dir '$H' | grep -q 'deployment slow (ingress): HEALTHY, 3 replicas'"
wait $wp
bad=$(awk '/Non-2xx/ {print $NF}' "$T/wrk_auto"); bad=${bad:-0}
check "no request failed while scaling up ($bad)" test "$bad" = 0
# a steady trickle while it scales down: every request answered 200
( end=$((SECONDS + 8)); while [ $SECONDS -lt $end ]; do
      curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$U/auto?ms=20"; done ) >"$T/trickle" &
tp=$!
check "scale-down after the load: back to 1 replica" \
    wait_for 20 bash -c "timeout 10 '$RAY' serve status --temp-dir '$H' | grep -q 'deployment slow (ingress): HEALTHY, 1 replicas, autoscaling'"
wait $tp
ntr=$(wc -l <"$T/trickle"); nok=$(grep -c '^200$' "$T/trickle")
check "scale-down lost no request ($nok of $ntr answered 200)" test "$ntr" -gt 5 -a "$nok" = "$ntr"

# a deployment reached only through handles scales on the handles' reports
wrk -t2 -c4 -d6s "$U/chain?ms=40" >"$T/wrk_chain" 2>&1 &
wp=$!
check "composition under load: the inner deployment scales up to 2 (handles' load)" \
    wait_for 15 bash -c "timeout 10 '$RAY' serve status --temp-dir '$H' | grep -q 'deployment back: HEALTHY, 2 replicas'"
wait $wp
bad=$(awk '/Non-2xx/ {print $NF}' "$T/wrk_chain"); bad=${bad:-0}
n=$(awk '/requests in/ {print $1}' "$T/wrk_chain")
check "composition under load: no request failed ($bad of ${n:-0})" test "$bad" = 0 -a "${n:-0}" -gt 20
check "... and it scales down after" \
    wait_for 20 bash -c "timeout 10 '$RAY' serve status --temp-dir '$H' | grep -q 'deployment back: HEALTHY, 1 replicas'"

serve status >"$T/status" 2>&1
check_out "ray serve status: the proxy and its routes" "$T/status" '^  route /compute -> compute: 2 replicas'
check_out "ray serve status: deployments and replicas" "$T/status" '^  deployment adder: HEALTHY, 1 replicas'

# ray_serve_run from C (a job), its handle, and a class the job lacks
timeout 120 "$RAY" submit --temp-dir "$H" "$JOB" -- "$HP" >"$T/capi" 2>&1
check_out "ray_serve_run from a job" "$T/capi" '^ray_serve_run: ok$'
check_out "a handle from the job's driver" "$T/capi" '^handle: 200 14$'
check_out "an unknown actor class is refused by name" "$T/capi" "^bad class: invalid argument: .*no actor class 'no_such_class'"
curl -s -m 10 "$U/capi?n=2" >"$T/capi2"
check_out "the job's application outlives the job" "$T/capi2" '^5$'

serve delete compute >"$T/del" 2>&1
check_out "ray serve delete" "$T/del" '^deleted application compute$'
curl -s -m 10 "$U/compute?n=3" >"$T/after_del"
check_out "a deleted application's route is gone (the / app answers)" "$T/after_del" '^ok$'
serve delete compute >"$T/del2" 2>&1; rc=$?
check "deleting it again is an error ($rc)" test "$rc" -ne 0
check_out "... saying there is no such application" "$T/del2" 'no application named compute'

# the shipped example replaces the echo application (a redeploy of a name)
sed "s/port: 8000/port: $HP/" "$ROOT/examples/serve_echo.yaml" >"$T/example.yaml"
serve deploy "$ROOT/examples/build/serve_echo.so" "$T/example.yaml" >"$T/ex" 2>&1
check_out "examples/serve_echo deploys over the echo application" "$T/ex" '^deployed application echo at /echo \(2 deployments\)'
curl -s -m 10 -d hi "$U/echo/x?y=1" >"$T/ex1"
check_out "the example echoes" "$T/ex1" '^POST /echo/x\?y=1$'
# (a redeploy's inner deployment may still be starting: a loaded machine, a sanitizer build)
check "the example's composition answers 105" \
    wait_for 30 bash -c "curl -s -m 5 '$U/echo/add?5' | grep -q '^105\$'"

# proxy_location EveryNode: a proxy on the other node too, on its own address
printf 'proxy_location: EveryNode\nhttp_options: {port: %s}\napplications:\n  - name: every\n    route_prefix: /every\n    deployments: [{name: noop, actor_class: noop}]\n' "$HP" >"$T/every.yaml"
serve deploy "$JOB" "$T/every.yaml" >"$T/every" 2>&1
check_out "EveryNode: deployed" "$T/every" '^deployed application every'
curl -s -m 10 "http://127.0.0.2:$HP/every" >"$T/every2"
check_out "EveryNode: the second node's proxy answers on 127.0.0.2" "$T/every2" '^ok$'
curl -s -m 10 "$U/every" >"$T/every1"
check_out "EveryNode: and the head's" "$T/every1" '^ok$'
# (the older controllers push to it on their next round, within 200 ms)
check "EveryNode: the new proxy also routes the applications deployed before it" \
    wait_for 30 bash -c "curl -s -m 5 'http://127.0.0.2:$HP/echo/add?1' | grep -q '^101\$'"

# bad YAML: one line naming the file, the line and the key
printf 'applications:\n  - name: x\n    deployments:\n      - name: d\n        num_replicas: many\n' >"$T/bad1.yaml"
serve deploy "$JOB" "$T/bad1.yaml" >"$T/bad1" 2>&1; rc=$?
check "a wrong type is refused ($rc)" test "$rc" -ne 0
check_out "... naming file, line and key" "$T/bad1" "bad1.yaml:5: key 'num_replicas': wants a number, got 'many'"
n=$(wc -l <"$T/bad1")
check "... in one line ($n)" test "$n" = 1
printf 'applications: [\n' >"$T/bad2.yaml"
serve deploy "$JOB" "$T/bad2.yaml" >"$T/bad2" 2>&1; rc=$?
check "broken YAML is refused ($rc)" test "$rc" -ne 0
check_out "... with the file and line" "$T/bad2" 'bad2.yaml:[0-9]+: bad YAML'
printf 'http_options: {port: 1}\n' >"$T/bad3.yaml"
serve deploy "$JOB" "$T/bad3.yaml" >"$T/bad3" 2>&1
check_out "a config without applications names the key" "$T/bad3" "bad3.yaml:1: key 'applications': missing"
printf 'applications:\n  - name: w\n    colour: blue\n    deployments: [{name: noop, num_replicas: 1}]\n' >"$T/warn.yaml"
serve deploy "$JOB" "$T/warn.yaml" >"$T/warn" 2>&1
check_out "an unknown key is a warning, not an error" "$T/warn" "warn.yaml:3: unknown key 'colour' ignored"
check_out "... and the application deploys" "$T/warn" '^deployed application w'
check_out "... and, naming no port, says the running proxy's" "$T/warn" "^proxy: http://127.0.0.1:$HP/\$"

# another port while applications run: refused, saying where the proxy listens
HP2=$(free_port)
printf 'http_options: {port: %s}\napplications:\n  - name: moved\n    route_prefix: /moved\n    deployments: [{name: noop, actor_class: noop}]\n' "$HP2" >"$T/moved.yaml"
serve deploy "$JOB" "$T/moved.yaml" >"$T/moved" 2>&1; rc=$?
check "a deploy asking for another port while applications run is refused ($rc)" test "$rc" -ne 0
check_out "... in one line saying where the proxy listens" "$T/moved" "listens on 127.0.0.1:$HP: delete them first"
check "... and the proxy still answers there" bash -c "curl -s -m 5 '$U/every' | grep -q '^ok\$'"
# with every application deleted, the next deploy moves the proxy
serve status >"$T/st_all" 2>&1
for a in $(awk '/^application /{sub(":", "", $2); print $2}' "$T/st_all"); do
    serve delete "$a" >/dev/null 2>&1
done
serve deploy "$JOB" "$T/moved.yaml" >"$T/moved2" 2>&1
check_out "with no application left, a deploy on another port is done" "$T/moved2" "^proxy: http://127.0.0.1:$HP2/"
check "... and the proxy answers on the new port" \
    wait_for 30 bash -c "curl -s -m 5 'http://127.0.0.1:$HP2/moved' | grep -q '^ok\$'"

check "no daemon crashed" pid_alive "$(rayd_pid "$H")"
finish
