#!/usr/bin/env bash
# Metrics, health and JSON logs (issue 21, items 1, 2 and 6). Both daemons run with
# log-format: json and metrics-listen (the lab's EDGE_METRICS and GATEWAY_METRICS).
#   a. /metrics of both daemons passes `promtool check metrics`; /healthz 200; /ready 200
#   b. a POST is answered 405, another path 404, a request head over 4 KiB 431
#   c. a 4 MiB download through the CONNECT proxy moves the edge's and the gateway's
#      subtunnel_tunnel_bytes_total{direction="to_edge"} by 4 MiB .. 4 MiB + 64 KiB; flows and
#      visitor requests are counted; heartbeat round trips are observed
#   d. edge killed: the gateway's /ready turns 503 with a reason line; edge restarted: 200
#   e. metrics-listen on the port of another listener is refused by --check-config
#   f. every line both daemons logged is a JSON object with level, time, component and msg
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl promtool python3
export LAB_EDGE_EXTRA_YAML=$'log-format: json'
export LAB_GATEWAY_EXTRA_YAML=$'log-format: json\nheartbeat-interval: 1\nheartbeat-count: 3'
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-metrics
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { rm -rf "$dir" "$LAB_DIR/www/m4.bin"; }
on_cleanup cleanup

# mcurl NS URL [curl args]: one request to a metrics listener, bounded
mcurl() {
    local ns=$1 url=$2
    shift 2
    in_ns "$ns" curl -sS -m 5 "$@" "$url"
}
# scrape NS BASE FILE: GET BASE/metrics into FILE
scrape() { mcurl "$1" "$2/metrics" -o "$3" -f; }
# metric FILE SERIES: the value of SERIES ('name{labels}' exactly as exposed), or empty
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# status NS URL [curl args]: the HTTP status only
status() {
    local ns=$1 url=$2
    shift 2
    mcurl "$ns" "$url" -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true
}

# ---- a. exposition format and health
scrape st-edge "$EDGE_METRICS" "$dir/edge0.txt"
scrape st-bastion "$GATEWAY_METRICS" "$dir/gw0.txt"
for f in edge0 gw0; do
    if ! out=$(promtool check metrics <"$dir/$f.txt" 2>&1); then
        fail "promtool check metrics ($f): $out"
    fi
    pass "promtool check metrics accepts the $f text ($(grep -c '^# TYPE' "$dir/$f.txt") families)"
done
assert_eq 1 "$(metric "$dir/edge0.txt" 'subtunnel_build_info{daemon="edge",version="0.1.0"}')" \
    "edge build info"
assert_eq 1 "$(metric "$dir/gw0.txt" 'subtunnel_build_info{daemon="gateway",version="0.1.0"}')" \
    "gateway build info"
assert_eq 4 "$(metric "$dir/edge0.txt" 'subtunnel_tunnel_connections{state="registered",tunnel="site1"}')" \
    "edge: 4 registered tunnel connections of site1"
assert_eq 4 "$(metric "$dir/gw0.txt" 'subtunnel_tunnel_connections{edge="192.0.2.1:7844",role="tunnel",state="registered"}')" \
    "gateway: 4 registered tunnel connections to 192.0.2.1:7844"
assert_match '^[1-9][0-9]*$' "$(metric "$dir/gw0.txt" 'process_open_fds')" "gateway open fds"
assert_match '^[1-9][0-9.e+]*$' "$(metric "$dir/edge0.txt" 'process_resident_memory_bytes')" \
    "edge RSS"
assert_match '^[0-9]+$' "$(metric "$dir/gw0.txt" 'subtunnel_lwip_pool_objects{pool="tcp_pcb"}')" \
    "gateway lwIP tcp_pcb pool"
assert_eq 200 "$(status st-edge "$EDGE_METRICS/healthz")" "edge /healthz"
assert_eq 200 "$(status st-bastion "$GATEWAY_METRICS/healthz")" "gateway /healthz"
assert_eq 200 "$(status st-edge "$EDGE_METRICS/ready")" "edge /ready"
assert_eq 200 "$(status st-bastion "$GATEWAY_METRICS/ready")" "gateway /ready (registered)"
assert_match '^ready: 4 of 4 tunnel connections registered' \
    "$(mcurl st-bastion "$GATEWAY_METRICS/ready")" "gateway /ready reason"

# ---- b. methods, paths, limits
assert_eq 405 "$(status st-edge "$EDGE_METRICS/metrics" -X POST -d x=1)" "edge: POST /metrics"
assert_eq 405 "$(status st-bastion "$GATEWAY_METRICS/metrics" -X POST -d x=1)" \
    "gateway: POST /metrics"
assert_eq 404 "$(status st-edge "$EDGE_METRICS/other")" "edge: GET /other"
big=$(head -c 5000 /dev/zero | tr '\0' a)
assert_eq 431 "$(status st-edge "$EDGE_METRICS/metrics" -H "X-Big: $big")" \
    "edge: a 5000-byte request head"

# ---- c. counters move by what went through
head -c $((4 * 1024 * 1024)) /dev/urandom >"$LAB_DIR/www/m4.bin"
want=$(sha256_file "$LAB_DIR/www/m4.bin")
scrape st-edge "$EDGE_METRICS" "$dir/edge1.txt"
scrape st-bastion "$GATEWAY_METRICS" "$dir/gw1.txt"
pcurl -m 60 -o "$dir/m4.bin" "http://$PRIV_IP:8000/m4.bin" || fail "4 MiB download failed"
assert_eq "$want" "$(sha256_file "$dir/m4.bin")" "4 MiB download through the CONNECT proxy"
scrape st-edge "$EDGE_METRICS" "$dir/edge2.txt"
scrape st-bastion "$GATEWAY_METRICS" "$dir/gw2.txt"
# delta FILE_BEFORE FILE_AFTER SERIES
delta() {
    local a b
    a=$(metric "$1" "$3")
    b=$(metric "$2" "$3")
    [[ -n $a && -n $b ]] || fail "series $3 missing"
    echo $((b - a))
}
lo=$((4 * 1024 * 1024)) hi=$((4 * 1024 * 1024 + 64 * 1024))
for d in edge gw; do
    n=$(delta "$dir/${d}1.txt" "$dir/${d}2.txt" \
        'subtunnel_tunnel_bytes_total{direction="to_edge",tunnel="site1"}')
    ((n >= lo && n <= hi)) || fail "$d: tunnel bytes to_edge moved by $n (want $lo..$hi)"
    pass "$d: tunnel bytes to_edge moved by $n for a 4 MiB download"
done
assert_eq 1 "$(delta "$dir/edge1.txt" "$dir/edge2.txt" 'subtunnel_flows_opened_total{kind="tcp"}')" \
    "edge: one tcp flow opened"
assert_eq 1 "$(delta "$dir/gw1.txt" "$dir/gw2.txt" 'subtunnel_flows_opened_total{kind="tcp"}')" \
    "gateway: one tcp flow opened"
# a refused flow: nothing announces 192.0.2.99
code=$(proxy_probe 192.0.2.99:80 -U "lab:$ACCESS_TOKEN")
assert_match '^403 ' "$code" "CONNECT to an address no tunnel announces"
# visitor requests by class: one 2xx, one 404 (counted when they end)
in_ns st-client curl -sS -m 10 -o /dev/null -H 'Host: app.lab.test' "$VISITOR_HTTP/file" ||
    fail "visitor request failed"
in_ns st-client curl -sS -m 10 -o /dev/null -H 'Host: nobody.lab.test' "$VISITOR_HTTP/" || true
counted() {
    scrape st-edge "$EDGE_METRICS" "$dir/edge3.txt" &&
        (($(delta "$dir/edge2.txt" "$dir/edge3.txt" 'subtunnel_visitor_requests_total{code="2xx"}') == 1)) &&
        (($(delta "$dir/edge2.txt" "$dir/edge3.txt" 'subtunnel_visitor_requests_total{code="4xx"}') == 1))
}
wait_for 10 "visitor requests counted by class" counted
pass "edge: visitor requests counted (one 2xx, one 4xx)"
assert_eq 1 "$(delta "$dir/edge2.txt" "$dir/edge3.txt" \
    'subtunnel_flows_refused_total{kind="tcp",reason="destination_ip_prohibited"}')" \
    "edge: one tcp flow refused as destination_ip_prohibited"
assert_eq 1 "$(delta "$dir/edge2.txt" "$dir/edge3.txt" \
    'subtunnel_flows_refused_total{kind="http",reason="destination_not_found"}')" \
    "edge: one visitor request refused as destination_not_found"
rtt() {
    scrape st-bastion "$GATEWAY_METRICS" "$dir/gw3.txt" &&
        (($(metric "$dir/gw3.txt" 'subtunnel_heartbeat_rtt_seconds_count') > 0))
}
wait_for 15 "a heartbeat round trip on the gateway" rtt
pass "gateway: heartbeat round trips observed ($(metric "$dir/gw3.txt" 'subtunnel_heartbeat_rtt_seconds_count'))"

# ---- d. readiness follows the tunnel
reconnects=$(metric "$dir/gw3.txt" 'subtunnel_reconnects_total')
bash "$LAB" kill-edge 1
not_ready() { [[ $(status st-bastion "$GATEWAY_METRICS/ready") == 503 ]]; }
wait_for 15 "gateway /ready 503 once the edge is gone" not_ready
body=$(mcurl st-bastion "$GATEWAY_METRICS/ready" || true)
assert_match '^not ready: no tunnel connection registered \(0 of 4\)' "$body" \
    "gateway /ready reason without an edge"
assert_eq 1 "$(printf '%s\n' "$body" | wc -l)" "the reason is one line"
assert_eq 200 "$(status st-bastion "$GATEWAY_METRICS/healthz")" "gateway /healthz while not ready"
bash "$LAB" restart-edge 1
ready() { [[ $(status st-bastion "$GATEWAY_METRICS/ready") == 200 ]]; }
wait_for 60 "gateway /ready 200 after the edge restarted" ready
pass "gateway /ready 200 again after the edge restarted"
scrape st-bastion "$GATEWAY_METRICS" "$dir/gw4.txt"
n=$(metric "$dir/gw4.txt" 'subtunnel_reconnects_total')
((n >= reconnects + 4)) || fail "reconnects moved from $reconnects to $n (want >= 4 more)"
pass "gateway: reconnects counted ($reconnects -> $n)"

# ---- e. metrics-listen must not take another listener's port
sed 's/^metrics-listen: .*/metrics-listen: 198.18.0.1:8080/' "$EDGE_CONFIG" >"$dir/clash.yaml"
rc=0
out=$("$BUILD_DIR/subtunnel-edge" --config "$dir/clash.yaml" --check-config 2>&1) || rc=$?
assert_eq 2 "$rc" "--check-config with metrics-listen on the access port"
assert_match "'metrics-listen' 198.18.0.1:8080 clashes with 'access-listen'" "$out" "clash message"

# ---- f. JSON log lines
for f in "$EDGE_LOG" "$GATEWAY_LOG"; do
    python3 - "$f" <<'EOF' || fail "$f: not JSON lines"
import json, re, sys
n = 0
for i, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    o = json.loads(line)
    for k in ("level", "time", "component", "msg"):
        assert isinstance(o.get(k), str), f"line {i}: no {k}: {line!r}"
    assert o["level"] in ("error", "warn", "info", "debug"), f"line {i}: level {o['level']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), f"line {i}: time"
    n += 1
assert n > 5, f"only {n} lines"
print(n)
EOF
    pass "every line of $(basename "$f") is JSON with level, time, component and msg"
done
