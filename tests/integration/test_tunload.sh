#!/usr/bin/env bash
# st-tunload (tools/tunload.c) against a real edge: 100 simulated gateways (each its own tunnel,
# secret and /32 route) register at an edge in the lab's network, every one of them carries a
# CONNECT flow from st-client whose bytes come back exactly (echo), an address no tunnel holds
# is refused, and after the edge is killed and started again all 100 register again.
# Counters and statuses only, never rates.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd openssl sha256sum python3

N=100
TUNLOAD=$BUILD_DIR/st-tunload
EDGE_BIN=$BUILD_DIR/subtunnel-edge
[[ -x $TUNLOAD && -x $EDGE_BIN ]] || fail "st-tunload / subtunnel-edge not built in $BUILD_DIR"

# shellcheck disable=SC2119
LAB_NO_DAEMONS=1 lab_up
D=$LAB_DIR/tunload
rm -rf "$D"
mkdir -p "$D"
bash "$ST_SOURCE_DIR/scripts/gen-certs.sh" "$D/certs" >/dev/null
TOKEN=$(openssl rand -hex 24)
bash "$ST_SOURCE_DIR/scripts/tunload-edge.sh" "$D/edge.yaml" "$N" itest "$TOKEN" "$D/certs"
EDGE_LOG=$LAB_DIR/logs/tl-edge.log
TL_LOG=$LAB_DIR/logs/tunload.log

start_edge() {
    start_bg tl-edge st-edge "$EDGE_BIN" --config "$D/edge.yaml"
    wait_for 20 "edge listening" listening st-edge 192.0.2.1:7844
}
start_edge
start_bg tunload st-bastion "$TUNLOAD" run --edge 192.0.2.1:7844 --ca "$D/certs/ca.crt" \
    --name edge.lab.test --count "$N" --seed itest --heartbeat 1000 --progress 1000
wait_for 60 "all $N tunnels registered" grep -q "^all-registered $N " "$TL_LOG"
assert_eq "$N" "$(grep -c 'connection [0-9]* registered' "$EDGE_LOG")" "registrations in the edge log"
pass "$N simulated gateways registered"

probe() { in_ns st-client "$TUNLOAD" probe --proxy 198.18.0.1:8080 --auth "load:$TOKEN" "$@"; }
out=$(probe --tunnels "$N" --count "$N" --interval 0 --bytes 65536) || fail "probes: $out"
assert_match "^probes $N answered $N ok $N echo-ok $N " "$out" "a flow through every tunnel"
pass "a CONNECT through each of the $N tunnels echoed 64 KiB exactly"

# 198.19.0.0 + 300: inside the benchmark range, held by no tunnel
out=$(probe --first 300 --count 1 --bytes 0 || true)
assert_match "^probes 1 answered 1 ok 0 " "$out" "unrouted address refused"
pass "an address no tunnel holds is refused"

# The edge dies and comes back: every simulated gateway registers again (backoff as the gateway's)
kill -KILL "$(cat "$LAB_DIR/run/tl-edge.pid")"
wait_for 15 "the tunnels see the edge gone" grep -q "^storm 1:" "$TL_LOG"
start_edge
wait_for 90 "all $N registered again" grep -q "^storm-end all $N registered again" "$TL_LOG"
out=$(probe --tunnels "$N" --count 10 --interval 0 --bytes 4096) || fail "probes: $out"
assert_match "^probes 10 answered 10 ok 10 echo-ok 10 " "$out" "flows after the restart"
pass "all $N registered again after an edge restart; flows go on"

kill -TERM "$(cat "$LAB_DIR/run/tunload.pid")"
wait_for 10 "st-tunload summary" grep -q '^summary ' "$TL_LOG"
sum=$(sed -n 's/^summary //p' "$TL_LOG")
python3 - "$sum" "$N" <<'PY' || fail "summary: $sum"
import json, sys
s, n = json.loads(sys.argv[1]), int(sys.argv[2])
assert s["registered"] == n and s["tunnels"] == n, s
assert s["flows"] == n + 10, s
assert s["echo_bytes"] == n * 65536 + 10 * 4096, s
assert s["losses"] == n and len(s["storms"]) == 1 and s["storms"][0]["all_ms"] > 0, s
assert s["refusals"] == 0 and s["heartbeat_timeouts"] == 0, s
PY
pass "st-tunload's summary: $N registered, $((N + 10)) flows, every echoed byte counted"
