#!/usr/bin/env bash
# IPv6 edges, listeners and ingress (issue 23):
#  b. edge discovery by SRV whose target has only an AAAA record (edge1-v6.lab.test): the
#     gateway re-resolves and moves its 4 connections to the IPv6 address (and back when
#     the SRV record names edge1.lab.test again); a CONNECT flow keeps its sha256
#  a. the gateway, reloaded with `edges: ['[2001:db8:2::1]:7844']`, moves its 4 connections
#     to the edge's IPv6 tunnel listener (tunnel-listen as a list); the edge logs the
#     bastion's IPv6 peer as [addr]:port; a CONNECT flow keeps its sha256
#  c. a visitor over IPv6 to the edge's http and https listeners reaches app.lab.test; an
#     ingress rule with an IPv6 origin (http://[2001:db8:51::10]:8000) serves v6.lab.test
#     from the gateway's virtual-pool6
#  d. 100 MiB down and up through the IPv6 proxy (EDGE_PROXY6) to http://[2001:db8:51::10]:8000
#     with sha256 both ways, and ssh to 2001:db8:51::10 through it
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl dig socat ssh sshd ss
export LAB_EDGE_SRV=1
export LAB_EDGE_HOSTNAMES="app.lab.test, ws.lab.test, v6.lab.test"
export LAB_INGRESS_EXTRA_RULES="  - hostname: v6.lab.test
    service: 'http://[2001:db8:51::10]:8000'"
# shellcheck disable=SC2119
lab_up

PRIV6=2001:db8:51::10
EDGE6=2001:db8:2::1
dir=$LAB_DIR/t-ipv6-edges
rm -rf "$dir"
mkdir -p "$dir"
cleanup_files() { rm -rf "$dir" "$LAB_DIR/www/v6e.bin" "$LAB_DIR/www/v6e-big.bin"; }
on_cleanup cleanup_files
random_file "$LAB_DIR/www/v6e.bin" $((4 * 1024))
small=$(sha256_file "$LAB_DIR/www/v6e.bin")
gw_pid=$(cat "$LAB_DIR/run/gateway.pid")

# tunnel_conns DST: established gateway connections to DST ("[v6]:port" or "v4:port")
tunnel_conns() { in_ns st-bastion ss -Htn state established "dst $1" | wc -l; }
# on_edge DST: all 4 tunnel connections go to DST and none elsewhere, all registered
on_edge() {
    (($(tunnel_conns "$1") == 4)) && (($(in_ns st-bastion ss -Htn state established \
        "dport = :7844" | wc -l) == 4)) && gw_is "4 1"
}
flow_ok() { # a small download through the tunnel (the IPv4 proxy, the private IPv4 host)
    rm -f "$dir/flow.bin"
    pcurl -m 30 -o "$dir/flow.bin" "http://$PRIV_IP:8000/v6e.bin" &&
        [[ $(sha256_file "$dir/flow.bin") == "$small" ]]
}

# The edge listens on its IPv6 lab addresses too (lab.sh: list-form listener keys).
for hp in "[$EDGE6]:7844" "[2001:db8:18::1]:80" "[2001:db8:18::1]:443" "[2001:db8:18::1]:8443"; do
    wait_for 10 "the edge listening on $hp" listening st-edge "$hp"
done
wait_for 20 "4 connections on edge 1 (SRV, IPv4)" on_edge "192.0.2.1:7844"

# ---- b. SRV target with only an AAAA record: the connections move by re-resolution alone
bash "$LAB" set-srv 6:1
aaaa=$(in_ns st-bastion dig +short +time=2 +tries=1 @192.0.2.1 AAAA edge1-v6.lab.test)
assert_eq "$EDGE6" "$aaaa" "AAAA of edge1-v6.lab.test"
in_ns st-bastion dig +short +time=2 +tries=1 @192.0.2.1 SRV _subtunnel._tcp.lab.test |
    grep -q 'edge1-v6.lab.test' || fail "SRV does not name edge1-v6.lab.test"
srv6_list() {
    grep -o 'edges: 1: .*' "$GATEWAY_LOG" | tail -n 1 |
        grep -q "\[$EDGE6\]:7844 (edge1-v6\.lab\.test"
}
wait_for 20 "the gateway to find [$EDGE6]:7844 by SRV + AAAA" srv6_list
pass "SRV target edge1-v6.lab.test resolved to its AAAA record"
wait_for 30 "4 connections on [$EDGE6]:7844 (SRV)" on_edge "[$EDGE6]:7844"
flow_ok || fail "CONNECT flow after SRV + AAAA"
pass "CONNECT flow with the edge found by SRV + AAAA (sha256)"
bash "$LAB" set-srv 1
wait_for 30 "4 connections back on edge 1 over IPv4 (SRV)" on_edge "192.0.2.1:7844"

# ---- a. a literal IPv6 edge address in a reloaded static list
n=$(log_count "registered (peer \[2001:db8:2::10\]:" "$EDGE_LOG")
sed -i -e '/^resolvers: /d' -e "s/^edge-srv: lab.test$/edges: ['[$EDGE6]:7844']/" \
    "$GATEWAY_CONFIG"
grep -q "^edges: \['\[$EDGE6\]:7844'\]" "$GATEWAY_CONFIG" || fail "gateway config not rewritten"
hup_reload "$gw_pid" "$GATEWAY_LOG"
wait_for 30 "4 connections on [$EDGE6]:7844" on_edge "[$EDGE6]:7844"
assert_match "edges: 1: \[$EDGE6\]:7844" "$(grep -o 'edges: 1: .*' "$GATEWAY_LOG" | tail -n 1)" \
    "gateway's edge list is the IPv6 literal"
(($(log_count "registered (peer \[2001:db8:2::10\]:" "$EDGE_LOG") >= n + 4)) ||
    fail "the edge logged no IPv6 peers [2001:db8:2::10]:port for the new connections"
pass "edge logs the gateway's IPv6 peer as [addr]:port"
flow_ok || fail "CONNECT flow over the IPv6 tunnel connections"
pass "CONNECT flow through tunnel connections over IPv6 (sha256)"

# ---- c. visitors over IPv6, and an IPv6 origin
RESOLVE6=()
for h in app v6; do
    RESOLVE6+=(--resolve "$h.lab.test:80:[2001:db8:18::1]" --resolve "$h.lab.test:443:[2001:db8:18::1]")
done
vcurl6() { in_ns st-client curl -sS -g --cacert "$CA_FILE" "${RESOLVE6[@]}" -m 30 "$@"; }
for url in http://app.lab.test https://app.lab.test http://v6.lab.test https://v6.lab.test; do
    rm -f "$dir/v.bin"
    code=$(vcurl6 -o "$dir/v.bin" -w '%{http_code}' "$url/v6e.bin") || fail "visitor $url"
    assert_eq 200 "$code" "visitor over IPv6: $url/v6e.bin status"
    assert_eq "$small" "$(sha256_file "$dir/v.bin")" "visitor over IPv6: $url/v6e.bin sha256"
done
assert_match '^2001:db8:64::[0-9a-f:]+ [0-9]+$' "$(vcurl6 http://v6.lab.test/whoami)" \
    "the IPv6 origin sees the gateway's virtual-pool6 address"
assert_match '^100\.64\.' "$(vcurl6 http://app.lab.test/whoami)" \
    "app.lab.test still reaches its IPv4 origin"

# ---- d. 100 MiB through EDGE_PROXY6 both ways, and ssh over IPv6
random_file "$LAB_DIR/www/v6e-big.bin" $((100 * 1024))
big=$(sha256_file "$LAB_DIR/www/v6e-big.bin")
curl6() { in_ns st-client curl -sS -g -p -x "$EDGE_PROXY6" -U "lab:$ACCESS_TOKEN" -m 300 "$@"; }
log "download 100 MiB from http://[$PRIV6]:8000 through $EDGE_PROXY6"
curl6 -o "$dir/big.bin" "http://[$PRIV6]:8000/v6e-big.bin" || fail "100 MiB download"
assert_eq "$big" "$(sha256_file "$dir/big.bin")" "100 MiB download sha256"
rm -f "$dir/big.bin"
log "upload 100 MiB to http://[$PRIV6]:8000 through $EDGE_PROXY6"
answer=$(curl6 -T "$LAB_DIR/www/v6e-big.bin" "http://[$PRIV6]:8000/upload") ||
    fail "100 MiB upload"
assert_eq "$big $((100 * 1024 * 1024))" "$answer" "100 MiB upload sha256 and size"

start_sshd v6-sshd st-priv "[$PRIV6]" "$dir/ssh"
phost=${EDGE_PROXY6#http://} pport=${phost##*:} phost=${phost%:*}
# shellcheck disable=SC2016 # $SSH_CONNECTION expands on the remote side
out=$(in_ns st-client ssh "${SSH_OPTS[@]}" -i "$dir/ssh/user_key" \
    -o "ProxyCommand=socat - PROXY:$phost:[%h]:%p,proxyport=$pport,proxyauth=lab:$ACCESS_TOKEN" \
    "root@$PRIV6" 'echo ok; echo "$SSH_CONNECTION"') || fail "ssh to $PRIV6 through $EDGE_PROXY6"
assert_eq ok "$(head -n 1 <<<"$out")" "ssh over IPv6 through the proxy ran a command"
assert_match "^2001:db8:64::[0-9a-f:]+ [0-9]+ $PRIV6 22$" "$(tail -n 1 <<<"$out")" \
    "sshd saw the connection from virtual-pool6 to [$PRIV6]:22"
pass "IPv6 edges, listeners, visitors, IPv6 origin, 100 MiB and ssh over IPv6"
