#!/usr/bin/env bash
# A gateway dials edge-count of the edges it knows (issue 22). In the fleet lab (lab.sh up
# --edges 3), site 1's gateway is given all three edges and edge-count 2 by a reload:
#   a. it probes the three round trips (TCP connect, closed before a byte: the edges do not
#      count these as refused connections) and keeps its 4 connections on 2 of the 3 edges,
#      edges 1 and 2 (equal round trips in the lab: the list order decides); the registry
#      lists site1 at those two only, and a download through edge 3 works (relayed)
#   b. edge 1 is killed (-9): the gateway passes it over and moves its connections to edge 3
#      (the registry lists site1 at edges 2 and 3); downloads through edges 2 and 3 work
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
# settled_on "A B": after the last edge choice, 4 connections registered on 2 of 3 edges and
# the registry lists site1 at exactly edges A and B
settled_on() {
    after_last 'edges chosen: |edges: 3: ' "$GATEWAY_LOG" |
        grep -q 'tunnel connections: 4 of 4 registered, on 2 of 3 edges' || return 1
    local n want_n
    for n in 1 2 3; do
        want_n=""
        if [[ " $1 " == *" $n "* ]]; then want_n=site1; fi
        [[ $(registry_tunnels_of "lab-edge-$n") == "$want_n" ]] || return 1
    done
}

# ---- a. three edges, edge-count 2
sed -i -e 's/^edges: .*/edges: [192.0.2.1:7844, 192.0.2.2:7844, 192.0.2.3:7844]\nedge-count: 2/' \
    "$GATEWAY_CONFIG"
hup_reload "$(cat "$LAB_DIR/run/gateway.pid")" "$GATEWAY_LOG"
probed() { grep -qE 'edge round trips: 192\.0\.2\.1:7844 [0-9.]+ ms, 192\.0\.2\.2:7844 [0-9.]+ ms, 192\.0\.2\.3:7844 [0-9.]+ ms' "$GATEWAY_LOG"; }
wait_for 10 "the gateway's round-trip probes of the 3 edges" probed
assert_match 'edges chosen: 2 of 3 \(edge-count 2\): 192\.0\.2\.1:7844 .*, 192\.0\.2\.2:7844 ' \
    "$(cat "$GATEWAY_LOG")" "the gateway chose edges 1 and 2"
wait_for 20 "4 connections on edges 1 and 2, site1 registered there only" settled_on "1 2"
pass "edge-count 2 of 3 edges: connections on edges 1 and 2 only"
for n in 1 2 3; do
    assert_eq 0 "$(grep -c 'tunnel port 192\.0\.2\.10:[0-9]*: TLS handshake' "$(edge_log_of "$n")" || true)" \
        "edge $n logged no refused connection from the gateway's probes"
done
through 3
through 1
pass "a download through edge 3, which the gateway does not dial, is relayed"

# ---- b. edge 1 dies: the gateway moves to edge 3
bash "$LAB" kill-edge 1
passed_over() { grep -q 'edge 192\.0\.2\.1:7844 failed .*passed over' "$GATEWAY_LOG"; }
wait_for 20 "the gateway to pass edge 1 over" passed_over
wait_for 30 "4 connections on edges 2 and 3, site1 registered there" settled_on "2 3"
assert_match 'edges chosen: 2 of 3 \(edge-count 2\): 192\.0\.2\.2:7844 .*, 192\.0\.2\.3:7844 ' \
    "$(after_last 'edge 192\.0\.2\.1:7844 failed' "$GATEWAY_LOG")" "the gateway chose edges 2 and 3"
through 3
through 2
pass "edge 1 killed: the gateway moved to edge 3; flows through edges 2 and 3 work"
