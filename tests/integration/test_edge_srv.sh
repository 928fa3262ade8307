#!/usr/bin/env bash
# Edge discovery by DNS SRV: a dnsmasq in st-edge serves _subtunnel._tcp.lab.test.
# The gateway spreads its 4 connections over the 2 edges it finds; when the SRV record
# changes to edge 2 only, its edge-1 connections drain (a transfer through edge 1 still
# completes) and all 4 end on edge 2; when it changes to edge 1, they move back.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
require_cmd dig
export LAB_EDGE_SRV=1
lab_up --edges 2

dir=$LAB_DIR/t-edge-srv
rm -rf "$dir"
mkdir -p "$dir"
dl_pid=""
cleanup() {
    if [[ -n $dl_pid ]]; then kill "$dl_pid" 2>/dev/null || true; fi
    rm -rf "$dir" "$LAB_DIR/www/srv.bin" "$LAB_DIR/www/small.bin"
}
on_cleanup cleanup
random_file "$LAB_DIR/www/srv.bin" $((6 * 1024))
random_file "$LAB_DIR/www/small.bin" 16
want=$(sha256_file "$LAB_DIR/www/srv.bin")
small=$(sha256_file "$LAB_DIR/www/small.bin")
edge_list() { grep -o 'edges: [0-9]*: .*' "$GATEWAY_LOG" | tail -n 1; }
# settled N: the last edge list names only edge N and, after it, 4 connections registered
settled() {
    local tail
    tail=$(awk '/ edges: [0-9]+: /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$GATEWAY_LOG")
    grep -q "edges: 1: 192\.0\.2\.$1:7844" <<<"$tail" &&
        grep -q 'tunnel connections: 4 of 4 registered, on 1 of 1 edges' <<<"$tail"
}
through() { # through N: a small download through edge N works
    ecurl "$1" -m 5 -o "$dir/small.$1" "http://$PRIV_IP:8000/small.bin" 2>/dev/null &&
        [[ $(sha256_file "$dir/small.$1") == "$small" ]]
}

wait_for 20 "4 connections on the 2 edges from SRV" gw_is "4 2"
assert_match '192\.0\.2\.1:7844 \(edge1\.lab\.test.*192\.0\.2\.2:7844 \(edge2\.lab\.test' \
    "$(edge_list)" "gateway found both edges by SRV (with their names)"
through 1 || fail "flow through edge 1"
through 2 || fail "flow through edge 2"
pass "flows through both edges"

ecurl 1 -m 60 --limit-rate 1M -o "$dir/dl.bin" "http://$PRIV_IP:8000/srv.bin" 2>"$dir/dl.err" &
dl_pid=$!
got_some() { [[ -f $dir/dl.bin ]] && (($(file_size "$dir/dl.bin") >= 512 * 1024)); }
wait_for 20 "the transfer through edge 1 to be under way" got_some
t0=$(now_ms)
bash "$LAB" set-srv 2
wait_for 20 "all 4 connections on edge 2" settled 2
log "SRV changed to edge 2 -> 4 connections on edge 2 after $(($(now_ms) - t0)) ms"
assert_match '^edges: 1: 192\.0\.2\.2:7844' "$(edge_list)" "gateway re-resolved: only edge 2"
drained() { (($(grep -c 'unregistered (draining)' "$EDGE_LOG") >= 2)); }
wait_for 15 "edge 1 to see its 2 connections unregister" drained
pass "edge 1's connections sent UNREGISTER"
through 2 || fail "flow through edge 2 after the SRV change"
pass "new flows go to edge 2"
rc=0
wait "$dl_pid" || rc=$?
dl_pid=""
assert_eq 0 "$rc" "transfer through the drained edge 1 finished ($(cat "$dir/dl.err"))"
assert_eq "$want" "$(sha256_file "$dir/dl.bin")" "transfer through the drained edge 1 intact"
code=$(in_ns st-client curl -s -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" -m 10 -o /dev/null \
    -w '%{http_connect}' "http://$PRIV_IP:8000/small.bin" 2>/dev/null) || true
assert_eq 502 "$code" "edge 1, no longer in SRV, has no connection of the tunnel"

t0=$(now_ms)
bash "$LAB" set-srv 1
wait_for 20 "all 4 connections back on edge 1" settled 1
assert_match '^edges: 1: 192\.0\.2\.1:7844' "$(edge_list)" "gateway re-resolved: only edge 1"
log "SRV changed to edge 1 -> 4 connections on edge 1 after $(($(now_ms) - t0)) ms"
wait_for 10 "a flow through edge 1" through 1
pass "new connections went to the new edge"
