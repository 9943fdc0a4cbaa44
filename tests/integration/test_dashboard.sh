# test_dashboard.sh — the head's dashboard, the job API and Prometheus
# metrics of a two-node cluster (head at 127.0.0.1, node B at 127.0.0.2),
# seen through real clients: curl on every endpoint with and without the
# token (a job posted without it does not run), `ray job` end to end,
# headless Chromium loading the overview page and finding both nodes in
# its DOM after its script ran, and a real Prometheus server scraping both
# nodes through the head's discovery file with the token and answering a
# PromQL query on ray_tasks.
source "$(dirname "$0")/lib.sh"

JOB=$ROOT/build/jobs/job_observe.so
PI=$ROOT/examples/build/job_pi.so
P=$(free_port)
DP=$(free_port)
A=$T/a B=$T/b
start_head "$A" "$P" --num-cpus 2 --dashboard-port "$DP" >/dev/null 2>&1
start_node "$B" 127.0.0.2 "127.0.0.1:$P" --num-cpus 1 --resources 'side=1' >/dev/null 2>&1
idof() { sed -n 's/^node_id=//p' "$1"/session_latest/node.info; }
IA=$(idof "$A") IB=$(idof "$B")
check "two nodes up" test -n "$IA" -a -n "$IB"
TOK=$(cat "$A"/session_latest/auth_token)
TOKFILE=$A/session_latest/auth_token
D=http://127.0.0.1:$DP
export RAY_ADDRESS=127.0.0.1:$P
check "node.info records the dashboard port" grep -qx "dashboard_port=$DP" "$A"/session_latest/node.info

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1"; }
# code URL [curl args...]: the HTTP status; the body is left in $T/body
code() { local u=$1; shift; curl -s -m 20 -o "$T/body" -w '%{http_code}' "$@" "$u"; }

# ---- every endpoint: 401 without the token, 200 with it -------------------------
"$RAY" submit "$PI" >"$T/pi.out" 2>&1
check "a job ran through ray submit" grep -q 'pi is about' "$T/pi.out"
GETS="/ /jobs /actors /tasks /placement_groups /logs /timeline /static/app.js /static/style.css
      /api/cluster_status /api/v0/nodes /api/v0/jobs /api/v0/actors /api/v0/tasks /api/v0/objects
      /api/v0/placement_groups /api/jobs/ /api/jobs/00000001 /api/jobs/00000001/logs /api/timeline"
bad_no=0 bad_wrong=0 bad_yes=0 bad_cookie=0
for u in $GETS; do
    c=$(code "$D$u"); [ "$c" = 401 ] && [ ! -s "$T/body" ] || { bad_no=$((bad_no + 1)); echo "      | $u without token: $c"; }
    c=$(code "$D$u" -H "Authorization: Bearer x$TOK"); [ "$c" = 401 ] || { bad_wrong=$((bad_wrong + 1)); echo "      | $u wrong token: $c"; }
    c=$(code "$D$u" -H "Authorization: Bearer $TOK"); [ "$c" = 200 ] || { bad_yes=$((bad_yes + 1)); echo "      | $u with token: $c"; }
    c=$(code "$D$u" -H "Cookie: ray_token=$TOK"); [ "$c" = 200 ] || { bad_cookie=$((bad_cookie + 1)); echo "      | $u cookie: $c"; }
done
check "every GET endpoint is 401 with an empty body without the token" test $bad_no -eq 0
check "every GET endpoint is 401 with a wrong token" test $bad_wrong -eq 0
check "every GET endpoint is 200 with the Bearer token" test $bad_yes -eq 0
check "every GET endpoint is 200 with the token cookie" test $bad_cookie -eq 0
c=$(code "$D/api/jobs/00000001/stop" -X POST)
check "POST /api/jobs/ID/stop without the token: 401" test "$c" = 401

c=$(code "$D/login?token=nope" -D "$T/hdr")
check "/login with a wrong token: 401, no cookie" bash -c "[ $c = 401 ] && ! grep -qi '^set-cookie' '$T/hdr'"
c=$(code "$D/login?token=$TOK" -D "$T/hdr")
check "/login?token= sets the cookie and redirects (302) to /" bash -c \
    "[ $c = 302 ] && grep -qi '^location: /' '$T/hdr' && grep -qi '^set-cookie: ray_token=$TOK; Path=/; HttpOnly' '$T/hdr'"
c=$(code "$D/login?token=$TOK" -L -c "$T/jar" -b "$T/jar")
check "following /login with the cookie jar lands on the overview page" bash -c \
    "[ $c = 200 ] && grep -q '<title>rayd dashboard</title>' '$T/body'"

# ---- JSON endpoints -----------------------------------------------------------------
H=(-H "Authorization: Bearer $TOK")
code "$D/api/v0/nodes" "${H[@]}" >/dev/null
check "/api/v0/nodes lists both nodes, total 2" json "$T/body" \
    "ids={n['node_id'] for n in d['result']}; assert d['total']==2 and ids=={'$IA','$IB'}"
code "$D/api/cluster_status" "${H[@]}" >/dev/null
check "/api/cluster_status has the ray status text and the nodes" json "$T/body" \
    "t=d['data']['clusterStatus']; assert 'node_$IA' in t and 'node_$IB' in t and 'Resources' in t and d['data']['nodes']['total']==2"
# task records of finished tasks reach the GCS a moment later (taskrec.c)
wait_for 10 bash -c "curl -s -m 5 -H 'Authorization: Bearer $TOK' '$D/api/v0/tasks?limit=1' | grep -Eq '\"total\": [0-9]{4,}'"
code "$D/api/v0/tasks?limit=2" "${H[@]}" >/dev/null
cp "$T/body" "$T/p0"
code "$D/api/v0/tasks?limit=2&offset=1" "${H[@]}" >/dev/null
check "/api/v0/tasks pages: limit=2 gives 2 rows of the table's many" json "$T/p0" \
    "assert len(d['result'])==2 and d['total']>2"
log "task table total: $(json "$T/p0" "print(d['total'])") (1000 pi tasks)"
check "offset=1 starts at the second row of offset 0" python3 -c \
    "import json; a=json.load(open('$T/p0')); b=json.load(open('$T/body')); assert a['result'][1]==b['result'][0]"
c=$(code "$D/api/v0/tasks?limit=abc" "${H[@]}")
check "a bad limit: 400 with one error" bash -c "[ $c = 400 ] && grep -q 'limit must be' '$T/body'"
c=$(code "$D/api/v0/tasks?limit=100000" "${H[@]}")
check "a limit over 10000: 400 (responses stay bounded)" test "$c" = 400
c=$(code "$D/api/v0/placement_groups" "${H[@]}")
check "/api/v0/placement_groups answers the table (empty here)" json "$T/body" "assert d['result']==[] and d['total']==0"
c=$(code "$D/api/nothing" "${H[@]}")
check "an unknown path with the token: 404" test "$c" = 404
code "$D/api/timeline" "${H[@]}" >/dev/null
check "/api/timeline is a Chrome trace array with both nodes" json "$T/body" \
    "assert isinstance(d,list); ps=[e['args']['name'] for e in d if e.get('name')=='process_name']; assert any('$(echo ${IA:0:8})' in p for p in ps) and any(e.get('name')=='sample' for e in d)"

# ---- the job API ---------------------------------------------------------------------
njobs() { "$RAY" list jobs --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
before=$(njobs)
c=$(code "$D/api/jobs/" -X POST -F "library=@$PI")
sleep 1
check "POST /api/jobs/ without the token: 401 and no job runs" bash -c "[ $c = 401 ] && [ $(njobs) = $before ]"
c=$(code "$D/api/jobs/" -X POST "${H[@]}" -F "library=@$PI" -F 'args=[]')
check "POST /api/jobs/ with the token: a job and a submission ID" json "$T/body" \
    "assert len(d['job_id'])==8 and d['submission_id'].startswith('raysubmit_')"
JID=$(json "$T/body" "print(d['job_id'])")
SID=$(json "$T/body" "print(d['submission_id'])")
wait_for 30 bash -c "curl -s -m 5 -H 'Authorization: Bearer $TOK' $D/api/jobs/$SID | grep -q SUCCEEDED"
code "$D/api/jobs/$SID" "${H[@]}" >/dev/null
check "GET /api/jobs/SUBMISSION: SUCCEEDED, exit_code 0, times" json "$T/body" \
    "assert d['job_id']=='$JID' and d['status']=='SUCCEEDED' and d['exit_code']==0 and d['end_time']>=d['start_time']>0"
code "$D/api/jobs/$JID/logs" "${H[@]}" >/dev/null
check "GET /api/jobs/ID/logs has the job's output" json "$T/body" "assert 'pi is about' in d['logs']"
code "$D/api/jobs/" "${H[@]}" >/dev/null
check "GET /api/jobs/ lists it with the ray submit job" json "$T/body" \
    "s={j['job_id']:j['status'] for j in d}; assert s['$JID']=='SUCCEEDED' and s['00000001']=='SUCCEEDED'"
c=$(code "$D/api/jobs/" -X POST "${H[@]}" -F "library=@$ROOT/Makefile;filename=notes.txt")
check "a library that is not one: 400 naming the file" bash -c "[ $c = 400 ] && grep -q 'notes.txt: not a shared library' '$T/body'"
c=$(code "$D/api/jobs/" -X POST "${H[@]}" -F "library=@$PI" -F 'args=[1,2]')
check "args that are not strings: 400" bash -c "[ $c = 400 ] && grep -q 'args must be a JSON array' '$T/body'"
c=$(code "$D/api/jobs/" -X POST "${H[@]}" -d 'hello')
check "a body that is not multipart: 400" bash -c "[ $c = 400 ] && grep -q 'multipart/form-data' '$T/body'"
c=$(code "$D/api/jobs/ffffffff" "${H[@]}")
check "an unknown job: 404" test "$c" = 404

# ray job: submit streams the output and exits with the job's status
"$RAY" job submit --address "$D" "$JOB" -- print "$T/never" >"$T/job.print" 2>"$T/job.print.err" &
JSUB=$!
wait_for 30 grep -q '^actor ' "$T/job.print"
check "ray job submit streams the job's output" grep -q '^task ' "$T/job.print"
JID2=$(sed -n 's/^ray job: job \([0-9a-f]*\) submitted.*/\1/p' "$T/job.print.err")
"$RAY" job status --address "$D" "$JID2" >"$T/job.status" 2>&1
check_out "ray job status: RUNNING" "$T/job.status" '^RUNNING'
"$RAY" job stop --address "$D" "$JID2" >"$T/job.stop" 2>&1
check_out "ray job stop asks it to stop" "$T/job.stop" '^stop requested'
timeout 30 tail --pid=$JSUB -f /dev/null
wait $JSUB
rc=$?
check "ray job submit of the stopped job exits non-zero" test $rc -ne 0
"$RAY" job status --address "$D" "$JID2" >"$T/job.status" 2>&1
check_out "ray job status: STOPPED" "$T/job.status" '^STOPPED'
"$RAY" job logs --address "$D" "$JID2" >"$T/job.logs" 2>&1
check_out "ray job logs prints its output" "$T/job.logs" '^task [0-9a-f]{40}$'
timeout 60 "$RAY" job submit --address "$D" "$JOB" -- nosuch >"$T/job.fail" 2>&1
rc=$?
check "ray job submit of a failing job exits with its status (2)" test $rc -eq 2
check_out "and says it failed" "$T/job.fail" 'ray job: job [0-9a-f]+ failed'
"$RAY" job list --address "$D" >"$T/job.list" 2>&1
check "ray job list shows the jobs" bash -c "grep -q '\"$JID2\"' '$T/job.list' && grep -q STOPPED '$T/job.list'"
RAY_TOKEN=wrong "$RAY" job list --address "$D" >"$T/job.bad" 2>&1
rc=$?
check "ray job with a wrong token: one line, non-zero" bash -c "[ $rc -ne 0 ] && [ \$(wc -l <'$T/job.bad') -eq 1 ] && grep -q 401 '$T/job.bad'"

# ---- headless Chromium -------------------------------------------------------------
if command -v chromium >/dev/null; then
    CH=(chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" --virtual-time-budget=8000)
    timeout 60 "${CH[@]}" --dump-dom "$D/login?token=$TOK" >"$T/dom.html" 2>"$T/chrome.err"
    check "Chromium's DOM of the overview has both nodes' rows (drawn by its script)" bash -c \
        "grep -q 'id=\"node-$IA\"' '$T/dom.html' && grep -q 'id=\"node-$IB\"' '$T/dom.html'"
    check "and the ray status text" grep -q 'Cluster status' "$T/dom.html"
    timeout 60 "${CH[@]}" --dump-dom "$D/" >"$T/dom401.html" 2>/dev/null
    check "without the token Chromium gets no node" bash -c "! grep -q 'node-$IA' '$T/dom401.html'"
    timeout 60 "${CH[@]}" --window-size=1280,640 --screenshot="$T/overview.png" "$D/login?token=$TOK" >/dev/null 2>&1
    check "a screenshot of the overview" bash -c "[ \$(stat -c %s '$T/overview.png') -gt 10000 ]"
    [ -n "${RAY_DASHBOARD_SHOT:-}" ] && cp "$T/overview.png" "$RAY_DASHBOARD_SHOT"
else
    fail "chromium is not installed (scripts/install-deps.sh)"
fi

# ---- metrics and a real Prometheus -------------------------------------------------
MA=$(sed -n 's/^metrics_port=//p' "$A"/session_latest/node.info)
MB=$(sed -n 's/^metrics_port=//p' "$B"/session_latest/node.info)
c=$(code "http://127.0.0.1:$MA/metrics")
check "/metrics without the token: 401" test "$c" = 401
c=$(code "http://127.0.0.1:$MA/metrics" "${H[@]}")
check "the head's /metrics with the token: ray_tasks of pi's sample tasks" bash -c \
    "[ $c = 200 ] && grep -Eq '^ray_tasks\{Name=\"sample\",State=\"FINISHED\",NodeId=\"$IA\"\} [0-9]+' '$T/body'"
for m in ray_tasks ray_actors ray_resources ray_object_store_memory ray_placement_groups \
         ray_node_cpu_utilization ray_node_mem_used ray_component_rss_bytes ray_cluster_active_nodes; do
    grep -q "^# TYPE $m " "$T/body" || fail "the head's /metrics lacks $m"
done
check "the head exports ray_cluster_active_nodes 2" grep -qx 'ray_cluster_active_nodes 2' "$T/body"
c=$(code "http://127.0.0.2:$MB/metrics" "${H[@]}")
check "node B's /metrics (its own address) with the token" bash -c \
    "[ $c = 200 ] && grep -q 'ray_resources{Name=\"side\",State=\"AVAILABLE\",NodeId=\"$IB\"} 1' '$T/body'"
SD=$A/session_latest/metrics/prom_metrics_service_discovery.json
wait_for 10 json "$SD" "assert len(d)==2"
check "the discovery file lists both nodes' targets" json "$SD" \
    "t=sorted(x['targets'][0] for x in d); assert t==sorted(['127.0.0.1:$MA','127.0.0.2:$MB'])"

if [ -x /usr/bin/prometheus ]; then
    PP=$(free_port)
    cat >"$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s   # a loaded machine may miss one: the waits below allow for it
scrape_configs:
  - job_name: rayd
    authorization:
      credentials_file: $TOKFILE
    file_sd_configs:
      - files: ['$SD']
        refresh_interval: 1s
EOF
    /usr/bin/prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/promdata" \
        --web.listen-address="127.0.0.1:$PP" >"$T/prom.log" 2>&1 &
    PROM=$!
    q() { curl -s -m 5 -G "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1"; }
    wait_for 60 bash -c "q() { curl -s -m 5 -G 'http://127.0.0.1:$PP/api/v1/query' --data-urlencode \"query=\$1\"; }; q 'count(up == 1)' | grep -q '\"value\":\[[0-9.]*,\"2\"\]'"
    q 'count(up == 1)' >"$T/prom.up"
    check "Prometheus scrapes both nodes with the token (up == 1 for 2 targets)" grep -q '"value":\[[0-9.]*,"2"\]' "$T/prom.up"
    "$RAY" submit "$PI" >/dev/null 2>&1
    # The sum Prometheus computes from its scrapes of both nodes must be what
    # the two nodes' /metrics say themselves at that moment (finished task
    # records of ended jobs are trimmed after a while, so the total is not a
    # constant): read both until they agree, with at least the 1000 tasks of
    # the job just run.
    SUMQ='sum(ray_tasks{State="FINISHED",Name="sample"})'
    direct_sum() {
        local u s=0 v
        for u in "127.0.0.1:$MA" "127.0.0.2:$MB"; do
            v=$(curl -s -m 5 -H "Authorization: Bearer $TOK" "http://$u/metrics" | grep '^ray_tasks{' |
                grep 'Name="sample"' | grep 'State="FINISHED"' | awk '{ s += $NF } END { print s + 0 }')
            s=$((s + ${v:-0}))
        done
        echo "$s"
    }
    agreed=no
    for _ in $(seq 90); do
        ps_=$(q "$SUMQ" | python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]
print(int(float(r[0]["value"][1])) if r else -1)' 2>/dev/null)
        ds_=$(direct_sum)
        if [ "${ps_:--1}" = "$ds_" ] && [ "$ds_" -ge 1000 ]; then agreed=yes; break; fi
        sleep 1
    done
    check "PromQL sum over both nodes of ray_tasks{State=FINISHED,Name=sample} is the nodes' own sum ($ps_ = $ds_, >= 1000)" \
        test "$agreed" = yes
    q 'count by (NodeId) (ray_resources{Name="CPU"})' >"$T/prom.nodes"
    check "ray_resources comes from both nodes" bash -c "grep -q '$IA' '$T/prom.nodes' && grep -q '$IB' '$T/prom.nodes'"
    kill "$PROM" 2>/dev/null
    wait "$PROM" 2>/dev/null
else
    fail "prometheus is not installed (scripts/install-deps.sh)"
fi

# ---- the default port taken: a head still starts, on another port ------------
# (another test's head may hold 8265 for a while: the holder keeps trying
# until the port is its own, so that it stays taken while this head starts)
python3 -c 'import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(400):
    try: s.bind(("127.0.0.1", 8265)); s.listen(1); open(sys.argv[1], "w").close(); break
    except OSError: time.sleep(0.05)
time.sleep(60)' "$T/held" &
HOLD=$!
for _ in $(seq 250); do [ -e "$T/held" ] && break; sleep 0.1; done
C=$T/c
PC=$(free_port)
start_head "$C" "$PC" --num-cpus 1 >/dev/null 2>&1
CP=$(sed -n 's/^dashboard_port=//p' "$C"/session_latest/node.info)
check "with port 8265 taken, a second head starts its dashboard on another port" \
    bash -c "[ -n '$CP' ] && [ '$CP' != 8265 ] && [ '$CP' -gt 0 ]"
check "node.info has its URL" grep -qx "dashboard_url=http://127.0.0.1:$CP" "$C"/session_latest/node.info
env -u RAY_ADDRESS "$RAY" job list --temp-dir "$C" >"$T/job.c" 2>&1
check "ray job finds the local head's dashboard and token through --temp-dir" grep -qx '\[\]' "$T/job.c"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null
c=$(code "http://127.0.0.1:$CP/" -H "Authorization: Bearer $TOK")
check "one cluster's token does not open another's dashboard" test "$c" = 401

finish
