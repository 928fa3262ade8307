#!/usr/bin/env bash
# Flows do not live forever (issue 25, item 4): with flow-idle-timeout 2 s, a CONNECT flow
# that carries no byte for longer is closed by the edge (logged), one that keeps moving
# outlives the timeout, and the edge's accepted sockets have TCP keepalive on.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl ss
export LAB_EDGE_EXTRA_YAML="flow-idle-timeout: 2"
# shellcheck disable=SC2119
lab_up

pcurl() { in_ns st-client curl -sS -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" "$@"; }

# A response that comes after 6 quiet seconds: the flow is idle for 2 s and closed.
rc=0
out=$(pcurl -m 30 "http://$PRIV_IP:8000/slow?s=6" 2>&1) || rc=$?
assert_ne 0 "$rc" "curl exit code of a flow idle past flow-idle-timeout"
idle_line() { grep -q "flow $PRIV_IP:8000: no byte either way for 2 s: closed" "$EDGE_LOG"; }
wait_for 10 "the edge's log line for the idle flow" idle_line
pass "idle flow closed by the edge: $(grep -m1 'no byte either way' "$EDGE_LOG")"
[[ $out != *slow* ]] || fail "the idle flow still delivered the late response"

# Events every 250 ms for 10 s: never 2 s without a byte, so the flow lives on; meanwhile
# the edge's end of the client's connection shows a keepalive timer.
dir=$(mktemp -d)
rm_dir() { rm -rf "$dir"; }
on_cleanup rm_dir
pcurl -m 60 -N "http://$PRIV_IP:8000/sse?n=40&ms=250" >"$dir/sse" 2>&1 &
sse=$!
keepalive() {
    in_ns st-edge ss -tnoH state established '( sport = :8080 )' | grep -q 'timer:(keepalive'
}
wait_for 8 "a keepalive timer on the edge's access socket" keepalive
pass "edge access socket: $(in_ns st-edge ss -tnoH state established '( sport = :8080 )' |
    grep -o 'timer:(keepalive[^)]*)' | head -n1)"
wait "$sse" || fail "the busy flow failed: $(tail -n2 "$dir/sse")"
assert_eq 40 "$(grep -c '^data: ' "$dir/sse")" "events of a flow that kept moving"
assert_eq 1 "$(grep -c 'no byte either way' "$EDGE_LOG")" "idle closures logged"
