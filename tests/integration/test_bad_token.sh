#!/usr/bin/env bash
# A gateway with a wrong tunnel secret: the edge refuses it with a clear log
# line, the gateway logs the error, and no flow reaches site 1. The gateway keeps asking
# (slowly, logging each cause once); when an edge reload accepts its secret, it registers
# without a restart and flows reach site 1.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
export LAB_BAD_TOKEN=1
# shellcheck disable=SC2119
lab_up

edge_refused() { grep -q 'registration refused: invalid token' "$EDGE_LOG"; }
gateway_error() { grep -Eq 'registration refused by .*: invalid token' "$GATEWAY_LOG"; }
wait_for 30 "edge log line refusing the registration" edge_refused
pass "edge: $(grep -m1 'registration refused: invalid token' "$EDGE_LOG")"
wait_for 30 "gateway log line with the error" gateway_error
pass "gateway: $(grep -Em1 'registration refused by .*: invalid token' "$GATEWAY_LOG")"
# (the connection count "tunnel connections: 0 of 4 registered" is no registration)
if grep -vi 'not registered' "$GATEWAY_LOG" | grep -v 'tunnel connections: 0 of ' |
    grep -Eq '(^|[^[:alpha:]])registered'; then
    fail "gateway with a wrong token logged 'registered'"
fi

r=$(proxy_probe "$PRIV_IP:8000" -U "lab:$ACCESS_TOKEN")
assert_eq 502 "${r%% *}" "CONNECT while the tunnel has no registered connection"
assert_match "destination_unavailable" "$r" "proxy-status of a disconnected tunnel"
log "answer: $r"

# The lab's cleartext access listener is on 198.18.0.1 (not loopback): the edge says so once.
assert_eq 1 "$(grep -c 'access-listen is cleartext beyond loopback' "$EDGE_LOG")" \
    "start-up warning about the cleartext access listener"

# Refusals are retried (issue 19, item 4): a second refusal of the same cause is logged as
# "still refused", the error line stays one per connection.
still() { grep -q 'still refused by .*: invalid token' "$GATEWAY_LOG"; }
wait_for 30 "a retried registration refused again" still
assert_eq 4 "$(grep -c 'registration refused by .*: invalid token (retrying)' "$GATEWAY_LOG")" \
    "error lines for the refusal (one per connection)"
secret=$(sed -n 's/^token: site1://p' "$GATEWAY_CONFIG")
sed -i "0,/secret-sha256: .*/s//secret-sha256: $(printf %s "$secret" | sha256sum | cut -d' ' -f1)/" \
    "$EDGE_CONFIG"
kill -HUP "$(cat "$LAB_DIR/run/edge.pid")"
registered() { grep -q 'tunnel connections: [1-9] of 4 registered' "$GATEWAY_LOG"; }
wait_for 40 "the gateway registered after the edge accepted its secret" registered
r=$(proxy_probe "$PRIV_IP:8000" -U "lab:$ACCESS_TOKEN")
assert_eq 200 "${r%% *}" "CONNECT once the edge accepts the gateway's secret"
