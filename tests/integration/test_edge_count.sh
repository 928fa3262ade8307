#!/usr/bin/env bash
# A gateway dials edge-count of the edges it knows (issue 22). In the fleet lab (lab.sh up
# --edges 3), site 1's gateway is given all three edges and edge-count 2 by a reload:
#   a. it probes the three round trips (TCP connects closed before a byte: the edges do not
#      count them as refused connections) and keeps its 4 connections on 2 of the 3 edges
#      (the lab's round trips are alike: which two is not fixed); the registry lists site1 at
#      those two only; a download through the third edge works (relayed)
#   b. one of the two is killed (-9): the gateway passes it over and moves its connections to
#      the third edge (the registry lists site1 there); downloads through both live edges work
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl redis-cli redis-server
lab_up --edges 3

dir=$LAB_DIR/t-edge-count
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { rm -rf "$dir" "$LAB_DIR/www/count.bin"; }
on_cleanup cleanup
random_file "$LAB_DIR/www/count.bin" $((4 * 1024))
want=$(sha256_file "$LAB_DIR/www/count.bin")
# through N: a download through edge N arrives intact
through() {
    ecurl "$1" -m 20 -o "$dir/got.$1" "http://$PRIV_IP:8000/count.bin" ||
        fail "download through edge $1 failed (curl $?)"
    assert_eq "$want" "$(sha256_file "$dir/got.$1")" "download through edge $1"
}
# holders: the edges the registry lists site1 at ("1 2"...)
holders() {
    local n out=()
    for n in 1 2 3; do
        if [[ $(registry_tunnels_of "lab-edge-$n") == site1 ]]; then out+=("$n"); fi
    done
    echo "${out[*]}"
}
# settled: after the last edge choice, 4 connections registered on 2 of 3 edges, and the
# registry lists site1 at 2 edges only (sets $held)
settled() {
    after_last 'edges chosen: |edges: 3: ' "$GATEWAY_LOG" |
        grep -q 'tunnel connections: 4 of 4 registered, on 2 of 3 edges' || return 1
    held=$(holders)
    [[ $held =~ ^[123]\ [123]$ ]]
}

# ---- a. three edges, edge-count 2
sed -i -e 's/^edges: .*/edges: [192.0.2.1:7844, 192.0.2.2:7844, 192.0.2.3:7844]\nedge-count: 2/' \
    "$GATEWAY_CONFIG"
hup_reload "$(cat "$LAB_DIR/run/gateway.pid")" "$GATEWAY_LOG"
probed() { grep -qE 'edge round trips: 192\.0\.2\.1:7844 [0-9.]+ ms, 192\.0\.2\.2:7844 [0-9.]+ ms, 192\.0\.2\.3:7844 [0-9.]+ ms' "$GATEWAY_LOG"; }
wait_for 10 "the gateway's round-trip probes of the 3 edges" probed
wait_for 20 "4 connections on 2 of the 3 edges, site1 registered there only" settled
other=$(echo 1 2 3 | tr ' ' '\n' | grep -vxF -e "${held% *}" -e "${held#* }")
log "site1 is held by edges $held; edge $other is not dialled"
assert_match "edges: 3: .*tunnel connections: 4 of 4 registered, on 2 of 3 edges" \
    "$(after_last 'SIGHUP: configuration reloaded' "$GATEWAY_LOG" | tr '\n' ' ')" \
    "the gateway reports 2 of 3 edges after the reload"
pass "edge-count 2 of 3 edges: connections on edges $held only"
for n in 1 2 3; do
    assert_eq 0 "$(grep -c 'tunnel port 192\.0\.2\.10:[0-9]*: TLS handshake' "$(edge_log "$n")" || true)" \
        "edge $n logged no refused connection from the gateway's probes"
done
through "$other"
through "${held% *}"
pass "a download through edge $other, which the gateway does not dial, is relayed"

# ---- b. one of the two dies: the gateway moves to the third
dead=${held% *} live=${held#* }
bash "$LAB" kill-edge "$dead"
passed_over() { grep -q "edge 192\.0\.2\.$dead:7844 failed .*passed over" "$GATEWAY_LOG"; }
wait_for 20 "the gateway to pass edge $dead over" passed_over
moved() { settled && [[ $held == "$(echo "$live $other" | tr ' ' '\n' | sort | xargs)" ]]; }
wait_for 30 "4 connections on edges $live and $other, site1 registered there" moved
through "$other"
through "$live"
pass "edge $dead killed: the gateway moved to edge $other; flows through edges $live and $other work"
