#!/usr/bin/env bash
# Failures in an edge fleet (issue 22): lab.sh up --edges 3 --sites 2 (site 1's gateway dials
# edges 1 and 2, so edge 3 relays site 1's flows to one of them), relay-idle-timeout 4 s.
#   a. edge 1 killed (-9) during a download from site 1 through edge 2: it finishes intact;
#      new flows through edge 3 to site 1 work again within the heartbeat window
#   b. Redis killed during a relayed download through edge 3: it finishes intact; new flows
#      through edges 1, 2 and 3 to site 1 work; Redis started again
#   c. edge 3 started while Redis is down: a flow through it to site 1 works once Redis is back
#   d. the holder (edge 1 or 2) carrying a relayed download from edge 3 drains (SIGTERM): the
#      download finishes intact, edge 3 hears its GOAWAY, new flows through edge 3 go to the
#      other holder; the draining holder exits once drained
#   and: relay connections without streams close after relay-idle-timeout; relayed flows'
#   audit records name the other edge (relay_to, relay_from), one decision record per flow;
#   the relay metrics count flows, dials and bytes
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum redis-server
export LAB_EDGE_EXTRA_YAML="relay-idle-timeout: 4"
lab_up --edges 3 --sites 2

dir=$LAB_DIR/t-fleet-fail
rm -rf "$dir"
mkdir -p "$dir/srv"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
random_file "$dir/srv/big.bin" $((50 * 1024))
random_file "$dir/srv/small.bin" 256
want_big=$(sha256_file "$dir/srv/big.bin")
want_small=$(sha256_file "$dir/srv/small.bin")
start_httpd fail-httpd "$PRIV_IP:8083" "$dir/srv"
big_url=http://$PRIV_IP:8083/big.bin
small_url=http://$PRIV_IP:8083/small.bin

# logged_since OFFSET LOG REGEX: a line matching REGEX appeared in LOG after byte OFFSET
logged_since() { tail -c +"$(($1 + 1))" "$2" | grep -Eq "$3"; }
# small_ok N: a 256 KiB download from site 1 through edge N arrives intact
small_ok() {
    rm -f "$dir/small.$1"
    ecurl "$1" -m 10 -o "$dir/small.$1" "$small_url" 2>/dev/null &&
        [[ $(sha256_file "$dir/small.$1") == "$want_small" ]]
}
assert_small() { small_ok "$1" || fail "$2"; }
# slow_download N NAME: 50 MiB through edge N at 10 MB/s in the background (about 5 s);
# sets SLOW_PID once the first MiB arrived
slow_download() {
    ecurl "$1" --limit-rate 10M -m 120 -o "$dir/$2.bin" "$big_url" 2>"$dir/$2.err" &
    SLOW_PID=$!
    wait_for 20 "the download $2 through edge $1 under way" arrived "$dir/$2.bin" 1048576
}
arrived() { [[ -f $1 ]] && (($(file_size "$1") >= $2)); }
# still_running WHAT: the background download had not ended when the failure came
still_running() { kill -0 "$SLOW_PID" 2>/dev/null || fail "$1: the download ended before the failure"; }
# slow_done NAME WHAT: the background download ended well, its bytes intact
slow_done() {
    wait "$SLOW_PID" || fail "$2: curl failed: $(cat "$dir/$1.err")"
    assert_eq "$want_big" "$(sha256_file "$dir/$1.bin")" "$2"
    rm -f "$dir/$1.bin"
}
holder_flows() { edge_metric "$1" 'subtunnel_relay_flows_total{side="holder"}'; }
metric_is() { [[ $(edge_metric "$1" "$2") == "$3" ]]; }
metric_ge() { local v; v=$(edge_metric "$1" "$2") && [[ -n $v ]] && ((v >= $3)); }
# site1_at N...: site 1's gateway has a registered connection at each edge N
site1_at() {
    local n
    for n in "$@"; do
        metric_ge "$n" 'subtunnel_tunnel_connections{state="registered",tunnel="site1"}' 1 ||
            return 1
    done
}
registry_up_all() {
    local n
    for n in 1 2 3; do metric_is "$n" subtunnel_registry_up 1 || return 1; done
}

assert_small 3 "a relayed flow through edge 3 before any failure"

# ---- a. edge 1 dies during a download through edge 2 (which holds site 1 itself)
slow_download 2 a
bash "$LAB" kill-edge 1
still_running "edge 1 killed"
slow_done a "download through edge 2 while edge 1 was killed"
# edge 3's cache lists edge 1 until its lease lapses (heartbeat-interval x count, 25 s): a
# relay connection to it fails before it is up and the flow goes to edge 2
wait_for 30 "a flow through edge 3 to site 1 after edge 1 died" small_ok 3
for i in 1 2 3; do assert_small 3 "flow $i through edge 3 with edge 1 dead"; done
pass "flows through edge 3 to site 1 work with edge 1 dead"
bash "$LAB" restart-edge 1

# ---- b. Redis dies during a relayed download through edge 3
wait_for 20 "edge 1's cache loaded" metric_ge 1 subtunnel_registry_cache_entries 2
slow_download 3 b
bash "$LAB" kill-registry
still_running "Redis killed"
wait_for 10 "edge 3 to see the registry down" metric_is 3 subtunnel_registry_up 0
for n in 1 2 3; do assert_small "$n" "a flow through edge $n to site 1 without Redis"; done
pass "new flows through edges 1, 2 and 3 reach site 1 without Redis"
slow_done b "relayed download through edge 3 while Redis was killed"
bash "$LAB" restart-registry
wait_for 20 "every edge back on the registry" registry_up_all

# ---- c. edge 3 starts while Redis is down
bash "$LAB" kill-edge 3
bash "$LAB" kill-registry
off=$(file_size "$EDGE_LOG_3")
audit3_off=$(file_size "$LAB_DIR/logs/audit3.log") # flow numbers start again at 1
bash "$LAB" restart-edge 3
wait_for 10 "edge 3 to log Redis unreachable" \
    logged_since "$off" "$EDGE_LOG_3" 'registry: Redis at .* unreachable'
assert_small 1 "a flow through edge 1 to site 1 while edge 3 and Redis are down"
bash "$LAB" restart-registry
wait_for 30 "a flow through edge 3 (started without Redis) to site 1" small_ok 3
pass "an edge started while Redis was down relays once Redis is back"

# ---- d. the holder of a relayed download drains
wait_for 60 "site 1's gateway registered at edges 1 and 2 again" site1_at 1 2
wait_for 20 "every edge back on the registry" registry_up_all
wait_for 20 "edge 3 caching both holders of site 1" \
    metric_ge 3 subtunnel_registry_cache_entries 2
declare -A before
for n in 1 2; do before[$n]=$(holder_flows "$n"); done
slow_download 3 d
carrying() { (($(holder_flows 1) > before[1] || $(holder_flows 2) > before[2])); }
wait_for 10 "a holder counting the relayed download" carrying
if (($(holder_flows 1) > before[1])); then held=1 other=2; else held=2 other=1; fi
log "edge $held carries the relayed download: draining it"
for n in 1 2; do before[$n]=$(holder_flows "$n"); done
off=$(file_size "$(edge_log "$held")")
kill -TERM "$(cat "$(edge_pidfile "$held")")"
still_running "edge $held drains"
wait_for 10 "edge 3 to hear edge $held's GOAWAY" \
    grep -q "relay: edge lab-edge-$held at .* sent GOAWAY" "$EDGE_LOG_3"
for i in 1 2 3; do assert_small 3 "flow $i through edge 3 while edge $held drains"; done
assert_eq "${before[$held]}" "$(holder_flows "$held")" "no new relayed flow at draining edge $held"
(($(holder_flows "$other") >= before[$other] + 3)) ||
    fail "edge $other took $(($(holder_flows "$other") - before[$other])) relayed flows, want 3"
pass "new flows through edge 3 went to edge $other"
slow_done d "relayed download through draining edge $held"
wait_for 30 "edge $held drained" logged_since "$off" "$(edge_log "$held")" 'drained: no flow left'

# ---- relay connections idle, audit, metrics (edge 3's since its restart in c)
wait_for 15 "edge 3 closing an idle relay connection" \
    grep -q 'relay: connection to edge lab-edge-[12] .*idle for relay-idle-timeout: GOAWAY' "$EDGE_LOG_3"
audit3=$LAB_DIR/logs/audit3.log
assert_match '"event":"end".*"relay_to":"lab-edge-[12]"' "$(cat "$audit3")" \
    "edge 3's audit names the holder of its relayed flows"
assert_match '"event":"end".*"relay_from":"lab-edge-3"' \
    "$(cat "$LAB_DIR/logs/audit.log" "$LAB_DIR/logs/audit2.log")" \
    "the holders' audit names edge 3 as where relayed flows came from"
# dup_decisions: the flow numbers with more than one decision record in the audit log on stdin
dup_decisions() { grep '"event":"decision"' | grep -o '"flow":[0-9]*' | sort | uniq -d | head -3; }
assert_eq " " "$(head -c "$audit3_off" "$audit3" | dup_decisions) $(tail -c +"$((audit3_off + 1))" "$audit3" | dup_decisions)" \
    "one decision record per flow at edge 3 (flows given to the next holder: $(log_count 'next holder' "$EDGE_LOG_3"))"
(($(edge_metric 3 'subtunnel_relay_flows_total{side="entry"}') >= 5)) ||
    fail "edge 3 counted $(edge_metric 3 'subtunnel_relay_flows_total{side="entry"}') relayed flows, want >= 5"
(($(edge_metric 3 'subtunnel_relay_bytes_total{direction="to_entry",side="entry"}') >= 50 * 1048576)) ||
    fail "edge 3 counted too few relayed bytes"
(($(edge_metric 3 subtunnel_relay_dials_total) >= 1)) || fail "edge 3 counted no relay dials"
pass "relay metrics count edge 3's flows, bytes and dials"
if command -v promtool >/dev/null; then
    in_ns st-edge curl -sS -m 5 -f "$EDGE3_METRICS/metrics" >"$dir/metrics3.txt"
    out=$(promtool check metrics <"$dir/metrics3.txt" 2>&1) || fail "promtool check metrics (edge 3): $out"
    pass "edge 3's metrics, relay families included, pass promtool check metrics"
fi
