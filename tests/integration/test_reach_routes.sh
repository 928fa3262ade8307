#!/usr/bin/env bash
# The reach gateway does not trust the edge's ROUTES (lab --sites 2):
#  a. the lab's reach routes go into the main table with proto 83 and metric 200, beside
#     the routes that were there
#  b. an edge reload offers site 1 the default route, a part of the bastion's own LAN, the
#     edge's own address and link-local: each is refused, logged once (4 tunnel
#     connections get the ROUTES), and every other route of the bastion stays as it was;
#     a CIDR an administrator routes already keeps its route (ours is added beside it with
#     a higher metric, never over it); site 1 still reaches site 2
#  c. CIDRs dropped from may-reach by the next reload are withdrawn; the administrator's
#     route for the same prefix stays
# All of it by gateways running as nobody that kept CAP_NET_ADMIN alone (checked first).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
lab_up --sites 2

edge_pid=$(cat "$LAB_DIR/run/edge.pid")
gw_pid=$(cat "$LAB_DIR/run/gateway.pid")
P2=203.0.113.10
count() { grep -c -- "$1" "$GATEWAY_LOG" || true; }
# st0_routes NS: the reach routes in NS's main table, one "CIDR proto P metric M" a line
st0_routes() {
    in_ns "$1" ip -4 route show table main dev st0 |
        awk '$1 != "100.64.0.0/10" {
            p = m = "-"
            for (i = 2; i < NF; i++) { if ($i == "proto") p = $(i + 1); if ($i == "metric") m = $(i + 1) }
            print $1, "proto", p, "metric", m }' | sort
}
# other_routes: st-bastion's main table without the reach routes (with the TUN's own)
other_routes() { in_ns st-bastion ip -4 route show table main | grep -v ' dev st0 proto 83 ' | sort; }
has_route() { st0_routes st-bastion | grep -qx "$1 proto 83 metric 200"; }
lacks_route() { ! grep -q "^$1 " <<<"$(st0_routes st-bastion)"; }
site2_ok() { grep -q 'hello from' <<<"$(in_ns st-priv curl -sS -m 10 "http://$P2:8000/file" 2>/dev/null)"; }

# Both reach gateways switched to the lab's user and kept CAP_NET_ADMIN alone: every route
# below is added and withdrawn after that switch.
capfield() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' ' | sed 's/ $//'; }
for pid in "$gw_pid" "$(cat "$LAB_DIR/run/gateway2.pid")"; do
    assert_eq "$(id -u "$LAB_USER")" "$(capfield "$pid" Uid | cut -d' ' -f2)" "gateway $pid: uid"
    for set in CapEff CapPrm CapBnd; do
        assert_eq 0000000000001000 "$(capfield "$pid" $set)" "gateway $pid $set: CAP_NET_ADMIN only"
    done
done

# ---- a. the lab's routes, installed without replacing anything
wait_for 10 "203.0.113.0/24 routed into st0" has_route 203.0.113.0/24
wait_for 10 "198.18.200.0/24 routed into st0" has_route 198.18.200.0/24
assert_eq $'198.18.200.0/24 proto 83 metric 200\n203.0.113.0/24 proto 83 metric 200' \
    "$(st0_routes st-bastion)" "site 1's reach routes: proto 83, metric 200"
s2() { st0_routes st-bastion2 | grep -qx '198.51.100.53 proto 83 metric 200'; }
wait_for 10 "site 2's reach routes" s2
assert_eq $'198.51.100.10 proto 83 metric 200\n198.51.100.53 proto 83 metric 200' \
    "$(st0_routes st-bastion2)" "site 2's reach routes (two /32 in site 1)"
site2_ok || fail "site 1 -> site 2 before the reload"

# An administrator's route for a CIDR the edge will offer too.
in_ns st-bastion ip route add 198.18.202.0/24 via 192.0.2.1 dev eth0
before=$(other_routes)
assert_match 'default via 192.0.2.1 dev eth0' "$before" "bastion's default route before"
assert_match '198.51.100.0/24 dev lan0 proto kernel' "$before" "bastion's LAN route before"

# ---- b. hostile ROUTES: refused, the table intact
sed -i 's|^    may-reach: \[site2, 198.18.200.0/24\]$|    may-reach: [site2, 198.18.201.0/24, 198.18.202.0/24, 0.0.0.0/0, 198.51.100.0/25, 192.0.2.1/32, 169.254.0.0/16]|' \
    "$EDGE_CONFIG"
grep -q '0.0.0.0/0, 198.51.100.0/25' "$EDGE_CONFIG" || fail "edge config not rewritten"
hup_reload "$edge_pid" "$EDGE_LOG"
wait_for 10 "198.18.201.0/24 routed into st0" has_route 198.18.201.0/24
# Withdrawn once no connection lists it: all 4 tunnel connections have the new ROUTES then.
wait_for 10 "198.18.200.0/24 withdrawn" lacks_route 198.18.200.0/24
grep -q 'reach: 198.18.200.0/24 withdrawn from st0' "$GATEWAY_LOG" || fail "no withdrawal logged"
pass "a CIDR no connection lists any more is withdrawn (logged)"
for w in \
    "0.0.0.0/0 refused: a default route would take all of this host's traffic" \
    "198.51.100.0/25 refused: overlaps 198.51.100.1/24 on lan0, a network of this host" \
    "192.0.2.1/32 refused: contains the edge address 192.0.2.1 this gateway dials" \
    "169.254.0.0/16 refused: overlaps 169.254.0.0/16 (link-local)"; do
    assert_eq 1 "$(count "reach: route $w")" "logged once over 4 connections: $w"
done
assert_eq "$before" "$(other_routes)" "the bastion's other routes are unchanged"
assert_eq $'198.18.201.0/24 proto 83 metric 200\n198.18.202.0/24 proto 83 metric 200\n203.0.113.0/24 proto 83 metric 200' \
    "$(st0_routes st-bastion)" "only the acceptable CIDRs are routed into st0"
assert_match 'dev lan0' "$(in_ns st-bastion ip route get 198.51.100.10)" \
    "198.51.100.10 still goes to the LAN"
assert_match 'via 192.0.2.1 dev eth0' "$(in_ns st-bastion ip route get 198.18.0.10)" \
    "other destinations still take the default route"
assert_match '^192.0.2.1 dev eth0' "$(in_ns st-bastion ip route get 192.0.2.1)" \
    "the edge is still reached on eth0"
assert_match 'via 192.0.2.1 dev eth0' "$(in_ns st-bastion ip route get 198.18.202.5)" \
    "the administrator's route for 198.18.202.0/24 keeps precedence (metric 0 < 200)"
kill -0 "$gw_pid" || fail "gateway died"
site2_ok || fail "site 1 -> site 2 after the hostile ROUTES"
pass "site 1 still reaches site 2"

# ---- c. withdrawn by the next reload; the administrator's route stays
sed -i 's|^    may-reach: \[site2, .*\]$|    may-reach: [site2]|' "$EDGE_CONFIG"
hup_reload "$edge_pid" "$EDGE_LOG"
wait_for 10 "198.18.201.0/24 withdrawn" lacks_route 198.18.201.0/24
wait_for 10 "198.18.202.0/24 withdrawn" lacks_route 198.18.202.0/24
assert_eq "203.0.113.0/24 proto 83 metric 200" "$(st0_routes st-bastion)" \
    "only site 2 stays routed into st0"
assert_eq "$before" "$(other_routes)" "the administrator's 198.18.202.0/24 and the rest stay"
site2_ok || fail "site 1 -> site 2 after the withdrawals"
kill -0 "$gw_pid" || fail "gateway died"
pass "routes removed from may-reach are withdrawn, nothing else"
