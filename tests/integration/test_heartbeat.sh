#!/usr/bin/env bash
# Heartbeats: a blackholed edge (iptables DROP, no FIN, no RST) is declared dead by the
# gateway within heartbeat-interval x heartbeat-count, and once the path is back the
# gateway registers again and flows work.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl iptables
export LAB_GATEWAY_EXTRA_YAML=$'heartbeat-interval: 1\nheartbeat-count: 3'
# shellcheck disable=SC2119
lab_up

rules=(OUTPUT -d 192.0.2.1 -p tcp --dport 7844 -j DROP)
unblock() { in_ns st-bastion iptables -D "${rules[@]}" 2>/dev/null || true; }
on_cleanup unblock
r=$(pcurl -m 10 "http://$PRIV_IP:8000/file") || fail "flow before the blackhole failed"
assert_match "hello from st-priv" "$r" "flow before the blackhole"

in_ns st-bastion iptables -A "${rules[@]}"
start=$(date +%s%N)
dead() { (($(grep -c 'no heartbeat answer for 3 x 1000 ms' "$GATEWAY_LOG") >= 4)); }
wait_for 15 "all 4 tunnel connections declared dead" dead
ms=$((($(date +%s%N) - start) / 1000000))
# a quiet tick is noticed at the next one: detection takes count to count+1 intervals
((ms <= (3 + 1) * 1000 + 1000)) || fail "dead edge detected after ${ms} ms (window 3 x 1000 ms)"
pass "blackholed edge detected after ${ms} ms (heartbeat 3 x 1000 ms)"

unblock
off=$(stat -c %s "$GATEWAY_LOG")
start=$(date +%s%N)
back() { tail -c +"$((off + 1))" "$GATEWAY_LOG" | grep -q 'registered: connection'; }
wait_for 45 "registration after the path is back" back
pass "registered again $((($(date +%s%N) - start) / 1000000)) ms after the blackhole ended"
ok() { pcurl -m 5 "http://$PRIV_IP:8000/file" 2>/dev/null | grep -q "hello from st-priv"; }
wait_for 30 "a flow through the recovered tunnel" ok
pass "flows work again"
