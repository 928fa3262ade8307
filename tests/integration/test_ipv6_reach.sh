#!/usr/bin/env bash
# Site to site over IPv6 (issue 23), lab --sites 2: each reach gateway installs the other
# site's IPv6 prefix into its TUN (proto 83, no link-local address on the TUN), and plain
# clients reach the other site's hosts by their IPv6 addresses: 32 MiB down and up both ways
# (sha256), iperf3 -6 both ways, ssh both ways.
#
# Path MTU: the hop from st-bastion to st-priv is lowered to 1280 for IPv6 on st-bastion's
# side only (net.ipv6.conf.lan0.mtu; the link MTU stays 1500, so st-priv's own packets and
# the MSS it announces (1440) are unchanged). The lwIP senders that cross it (the expose
# gateway's connection to st-priv, the reach gateway's to st-priv) send 1440-byte segments
# with DF (IPv6 routers never fragment); st-bastion's kernel answers each with an ICMPv6
# Packet Too Big (1280) into the TUN. lwIP ignores those; ns_netif learns the MTU (ns_pmtu)
# and writes later segments with a GSO header that makes the kernel cut them to fit. 8 MiB to
# and from st-priv must arrive intact, and st-bastion's gateway must have cut segments
# (tun_tx_pmtu). Observed with this gateway built without the learning step (ns_pmtu_learn
# never called), same lab and hop: st-bastion sent 9 Packet Too Big, the 8 MiB download to
# st-priv got 0 bytes in 30 s and the upload to st-priv stalled (curl timeouts, exit 28).
# IPv4 over the same hop (a 1280 route MTU toward st-priv on st-bastion): lwIP sends IPv4
# without DF, so st-bastion fragments and the transfer completes without PMTUD.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl ssh sshd ssh-keygen iperf3 python3
lab_up --sites 2

P1=2001:db8:51::10  # site 1 host (st-priv)
P2=2001:db8:113::10 # site 2 host (st-priv2)
P1V4=198.51.100.10
ME1='2001:db8:51::1[01]' # st-priv's source: the kernel picks ::10 or ::11 (it has both)
P2V4=203.0.113.10
dir=$LAB_DIR/t-v6reach
www=$LAB_DIR/www
rm -rf "$dir"
mkdir -p "$dir"
mtu6_was=$(in_ns st-bastion sysctl -n net.ipv6.conf.lan0.mtu)
cleanup() {
    in_ns st-bastion sysctl -qw "net.ipv6.conf.lan0.mtu=$mtu6_was" || true
    in_ns st-bastion ip route del "$P1V4/32" dev lan0 2>/dev/null || true
    rm -rf "$dir" "$www"/t-v6r-*.bin
}
on_cleanup cleanup

# The lab lets site 2 reach two IPv4 hosts of site 1 only: add site 1's IPv6 prefix (the
# edge sends the new ROUTES at once; the lab's configuration is rewritten by the next up)
sed -i "s|^    may-reach: \[198.51.100.10/32, 198.51.100.53/32[^]]*\]\$|    may-reach: [198.51.100.10/32, 198.51.100.53/32, '2001:db8:51::/64']|" \
    "$EDGE_CONFIG"
grep -q "^    may-reach: \[.*'2001:db8:51::/64'\]$" "$EDGE_CONFIG" ||
    fail "site 2's may-reach not found in $EDGE_CONFIG"
hup_reload "$(cat "$(edge_pidfile 1)")" "$EDGE_LOG"

# routes: the other site's IPv6 prefix via st0, installed by the gateway (proto 83)
has_route6() { in_ns "$1" ip -6 route show proto 83 | grep -q "^$2 dev st0 "; }
wait_for 20 "2001:db8:113::/64 in st-bastion's table" has_route6 st-bastion 2001:db8:113::/64
wait_for 20 "2001:db8:51::/64 in st-bastion2's table" has_route6 st-bastion2 2001:db8:51::/64
pass "reach routes for the other site's IPv6 prefix installed on both bastions"
grep -q 'reach: 2001:db8:113::/64 routed into st0' "$GATEWAY_LOG" ||
    fail "gateway 1 did not log the IPv6 route"
ll=$(in_ns st-bastion ip -6 addr show dev st0 scope link)
assert_eq "" "$ll" "no link-local address on the TUN (addr_gen_mode none)"

# xfer NS PEER NAME: download NAME from PEER and upload it back; sha256 both ways
xfer() {
    local ns=$1 peer=$2 name=$3 want size
    want=$(sha256_file "$www/$name")
    size=$(file_size "$www/$name")
    rm -f "$dir/got.bin"
    in_ns "$ns" curl -sS -g -m 60 -o "$dir/got.bin" "http://$peer:8000/$name" ||
        fail "$ns: download of $name from $peer failed"
    assert_eq "$want" "$(sha256_file "$dir/got.bin")" "$ns <- $peer $name download"
    r=$(in_ns "$ns" curl -sS -g -m 60 -T "$www/$name" "http://$peer:8000/upload") ||
        fail "$ns: upload of $name to $peer failed"
    assert_eq "$want $size" "$r" "$ns -> $peer $name upload"
}

random_file "$www/t-v6r-32m.bin" $((32 * 1024))
xfer st-priv "[$P2]" t-v6r-32m.bin
xfer st-priv2 "[$P1]" t-v6r-32m.bin
# source preservation: each server sees the other site's host itself, not a pool address
who=$(in_ns st-priv2 curl -sS -g -m 10 "http://[$P1]:8000/whoami") || fail "whoami site 2 -> 1"
assert_match "^$P2 [0-9]+\$" "$who" "site 1's server sees site 2's host address"
who=$(in_ns st-priv curl -sS -g -m 10 "http://[$P2]:8000/whoami") || fail "whoami site 1 -> 2"
assert_match "^$ME1 [0-9]+\$" "$who" "site 2's server sees site 1's host address"

# iperf3 -6 both ways (2 s each): it completes and moves data
for dirn in "st-priv $P2 st-priv2" "st-priv2 $P1 st-priv"; do
    read -r ns peer sns <<<"$dirn"
    start_bg "iperf3-6-$sns" "$sns" iperf3 -6 -s -1 -B "$peer" -p 5298
    wait_for 15 "iperf3 server on $peer" listening "$sns" "[$peer]:5298"
    rc=0
    in_ns "$ns" timeout 30 iperf3 -6 -c "$peer" -p 5298 -t 2 -J >"$dir/iperf.json" || rc=$?
    ((rc == 0)) || fail "iperf3 $ns -> $peer failed (exit $rc): $(tail -c 400 "$dir/iperf.json")"
    bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' \
        <"$dir/iperf.json")
    ((bytes > 0)) || fail "iperf3 $ns -> $peer moved no bytes"
    pass "iperf3 -6 $ns -> $peer: $bytes bytes in 2 s"
done

# ssh both ways (the remote shell expands $SSH_CONNECTION)
s1=$dir/ssh1 s2=$dir/ssh2
start_sshd v6-sshd1 st-priv "[$P1]" "$s1"
start_sshd v6-sshd2 st-priv2 "[$P2]" "$s2"
for dirn in "st-priv $ME1 $P2 $s2" "st-priv2 $P2 $P1 $s1"; do
    read -r ns me peer keys <<<"$dirn"
    r=$(ssh_connection "$ns" "$keys" "$peer" "$dir/ssh.err") ||
        fail "ssh $ns -> $peer: $(cat "$dir/ssh.err")"
    assert_match "^$me [0-9]+ $peer 22\$" "$r" "ssh -6 $ns -> $peer (SSH_CONNECTION)"
done

# path MTU: 1280 from st-bastion toward st-priv, DF-sized transfers to and from st-priv
in_ns st-bastion sysctl -qw net.ipv6.conf.lan0.mtu=1280
in_ns st-bastion ip route add "$P1V4/32" dev lan0 mtu 1280
random_file "$www/t-v6r-8m.bin" $((8 * 1024))
cut0=$(gw_stat "$GATEWAY_LOG" tun_tx_pmtu)
xfer st-priv "[$P2]" t-v6r-8m.bin  # reach lwIP -> st-priv crosses the 1280 hop
xfer st-priv2 "[$P1]" t-v6r-8m.bin # expose lwIP -> st-priv (the upload) crosses it
cut=$(gw_stat "$GATEWAY_LOG" tun_tx_pmtu)
ptb=$(gw_stat "$GATEWAY_LOG" tun_rx_ptb)
((cut > cut0)) || fail "st-bastion's gateway cut no segment to the path MTU (tun_tx_pmtu=$cut)"
((ptb > 0)) || fail "st-bastion's gateway read no Packet Too Big (tun_rx_ptb=$ptb)"
pass "IPv6 path MTU 1280 toward st-priv: $((cut - cut0)) segments cut, $ptb Packet Too Big read"
# IPv4: fragmented by st-bastion (lwIP sets no DF)
frags() { in_ns st-bastion nstat -az IpFragCreates | awk '$1 == "IpFragCreates" {print $2}'; }
f0=$(frags)
xfer st-priv "$P2V4" t-v6r-8m.bin
xfer st-priv2 "$P1V4" t-v6r-8m.bin
f1=$(frags)
((f1 > f0)) || fail "st-bastion fragmented nothing toward st-priv (IpFragCreates $f0 -> $f1)"
pass "IPv4 across the 1280 hop: st-bastion made $((f1 - f0)) fragments"
