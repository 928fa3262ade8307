#!/usr/bin/env bash
# UDP, DNS and ICMP through the tunnel (lab --sites 2): site 2's host reaches site 1 by plain
# IP through its reach gateway (connect-udp / connect-ip streams over HTTP/2), and a MASQUE
# client on st-client uses the edge's access listener directly (HTTP/2 over TLS, h2c, and
# the HTTP/1.1 upgrade form).
#   - dig: 1000 queries to the private resolver 198.51.100.53 all answered; a truncated
#     answer retried over TCP; dig +tcp
#   - 1400-byte datagrams intact both ways (udpecho: every datagram's content checked, 50
#     flows; the echo server's own count matches); MASQUE over TLS h2 and h2c
#   - ping -c 20 both ways: 0% loss, every sequence number once, TTL 61 (three routers)
#   - ICMP errors instead of silence: host unreachable, "packet filtered" for a
#     destination the edge refuses (ping and dig), time exceeded at the tunnel, and port
#     unreachable for a UDP port nobody listens on (relayed back through the stream)
#   - 10k UDP flows opened (udp_opened +10000 at the expose gateway) and expired
#     (udp-idle-timeout 10 s here): live flows back to 0, the gateway's RSS back near its
#     baseline
# Rates and loss under load are benchmark figures: scripts/bench.sh udp (iperf3 -u).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd dig ping python3
export LAB_GATEWAY_EXTRA_YAML=$'udp-idle-timeout: 10\ndns-idle-timeout: 5\nicmp-idle-timeout: 5'
lab_up --sites 2

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P1=198.51.100.10 # site 1 host
P2=203.0.113.10  # site 2 host
DNS=198.51.100.53
dir=$LAB_DIR/t-udp
rm -rf "$dir"
mkdir -p "$dir"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir

# --- DNS
r=$(in_ns st-priv2 dig +short +time=2 +tries=2 @$DNS host.corp.test) || fail "dig failed"
assert_eq "$P1" "$r" "dig @$DNS host.corp.test from site 2"
for ((i = 0; i < 1000; i++)); do
    echo "@$DNS host.corp.test A +time=3 +tries=2"
done >"$dir/batch"
in_ns st-priv2 dig -f "$dir/batch" >"$dir/batch.out" 2>&1 || true
ok=$(grep -c 'status: NOERROR' "$dir/batch.out" || true)
answers=$(grep -cP '^host\.corp\.test\.\s+\d+\s+IN\s+A\s+198\.51\.100\.10$' "$dir/batch.out" || true)
assert_eq "1000 1000" "$ok $answers" "1000 dig queries through reach + tunnel all answered"
out=$(in_ns st-priv2 dig +time=3 +tries=1 @$DNS big.corp.test TXT 2>&1) || fail "dig TXT failed"
assert_match "Truncated, retrying in TCP mode" "$out" "big answer truncated over UDP"
assert_match "ANSWER: 24," "$out" "big answer complete over TCP (24 TXT records)"
out=$(in_ns st-priv2 dig +tcp +short +time=3 @$DNS ws.corp.test) || fail "dig +tcp failed"
assert_eq "198.51.100.11" "$out" "dig +tcp"

# --- 1400-byte datagrams, many flows, content checked
start_bg udpecho1 st-priv python3 "$HERE/udpecho.py" --listen "$P1:7" \
    --count-file "$dir/echo1.count"
start_bg udpecho2 st-priv2 python3 "$HERE/udpecho.py" --listen "$P2:7"
wait_for 10 "udp echo servers" bash -c "grep -q ready '$LAB_DIR/logs/udpecho1.log' &&
    grep -q ready '$LAB_DIR/logs/udpecho2.log'"
r=$(in_ns st-priv2 python3 "$HERE/udpecho.py" --client "$P1:7" --size 1400 --count 2000 \
    --flows 50 --timeout 3) || fail "site 2 -> site 1 echo: $r"
assert_match "^ok 2000/2000 size 1400 flows 50" "$r" "site 2 -> site 1: 2000 x 1400 B intact"
r=$(in_ns st-priv python3 "$HERE/udpecho.py" --client "$P2:7" --size 1400 --count 500 \
    --timeout 3) || fail "site 1 -> site 2 echo: $r"
assert_match "^ok 500/500" "$r" "site 1 -> site 2: 500 x 1400 B intact"
r=$(in_ns st-priv2 python3 "$HERE/udpecho.py" --client "$P1:7" --size 8000 --count 50 \
    --timeout 3) || fail "fragmented datagrams: $r"
assert_match "^ok 50/50 size 8000" "$r" "8000-byte datagrams (IP fragments) intact"
# The server's own count (written every 0.5 s): each datagram arrived once, no duplicates.
echoed() { awk '{print $2}' "$dir/echo1.count" 2>/dev/null; }
echoed_at_least() { (($(echoed || echo 0) >= $1)); }
wait_for 10 "echo server count" echoed_at_least 2050
assert_eq 2050 "$(echoed)" "datagrams echoed by site 1's server (2000 + 50)"
# Capsules that queued together share a DATA frame: never more frames than capsules.
for glog in "$LAB_DIR/logs/gateway.log" "$GATEWAY_LOG_2"; do
    caps=$(gw_stat "$glog" dgram_in)
    frames=$(gw_stat "$glog" dgram_frames)
    ((frames > 0 && frames <= caps)) ||
        fail "$(basename "$glog"): $frames DATA frames for $caps capsules"
    pass "$(basename "$glog"): $caps capsules in $frames DATA frames"
    # tun.batch-reads (default on): the datagrams above came through io_uring batches, or
    # the gateway said at start why it reads one packet per call
    if grep -q 'batched reads on' "$glog"; then
        batches=$(gw_stat "$glog" tun_rx_batches)
        rx=$(gw_stat "$glog" tun_rx)
        ((batches > 0 && rx >= batches)) ||
            fail "$(basename "$glog"): $rx TUN packets in $batches batched reads"
        pass "$(basename "$glog"): $rx TUN packets read in $batches batched calls"
    else
        assert_match "batched reads unavailable" "$(cat "$glog")" \
            "$(basename "$glog"): says why reads are not batched"
    fi
done

# --- MASQUE client at the edge's access listener (TLS + ALPN h2, and h2c)
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8443 --ca "$CA_FILE" \
    --servername edge.lab.test --token "$ACCESS_TOKEN" --target "$P1:7" --echo 1400 \
    --count 500) || fail "masque echo over TLS: $r"
assert_match "echoed 500/500 size 1400 sha256 ok" "$r" "connect-udp over TLS h2: 500 x 1400 B"
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c \
    --token "$ACCESS_TOKEN" --target "$DNS:53" --dns host.corp.test --count 200) ||
    fail "masque dns: $r"
assert_match "answered 200/200" "$r" "connect-udp over h2c: 200 DNS queries"
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c --h1 \
    --token "$ACCESS_TOKEN" --target "$P1:7" --echo 1400 --count 300) ||
    fail "masque over HTTP/1.1: $r"
assert_match "echoed 300/300 size 1400 sha256 ok" "$r" "connect-udp over HTTP/1.1 (101 upgrade)"
set +e
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c \
    --token wrong-token --target "$DNS:53" --dns host.corp.test 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "masque with a bad token refused"
assert_match "407" "$r" "bad token: 407"
set +e
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c \
    --token "$ACCESS_TOKEN" --target "198.18.200.1:53" --dns x.test 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "masque to an address nobody serves refused"
assert_match "destination_ip_prohibited" "$r" "unserved address: proxy-status"

# --- ICMP echo
for pair in "st-priv2 $P1" "st-priv $P2"; do
    read -r ns dst <<<"$pair"
    out=$(in_ns "$ns" ping -n -c 20 -i 0.2 -W 2 "$dst") || fail "$ns: ping $dst: $out"
    assert_match " 0% packet loss" "$out" "$ns: ping -c 20 $dst"
    seqs=$(grep -o 'icmp_seq=[0-9]*' <<<"$out" | cut -d= -f2 | sort -n | uniq | tr '\n' ' ')
    assert_eq "$(seq -s ' ' 1 20) " "$seqs" "$ns: every sequence number answered once"
    ttls=$(grep -o 'ttl=[0-9]*' <<<"$out" | sort -u | tr '\n' ' ')
    assert_eq "ttl=61 " "$ttls" "$ns: reply TTL 61 (bastion, tunnel, bastion)"
done
out=$(in_ns st-priv2 ping -n -c 3 -i 0.2 -s 1400 -W 2 "$P1") || fail "ping -s 1400: $out"
assert_match " 0% packet loss" "$out" "ping with 1400-byte payloads"
out=$(in_ns st-priv ping -n -c 2 -W 6 203.0.113.99 2>&1 || true)
assert_match "From .* icmp_seq=1 Destination Host Unreachable" "$out" \
    "unreachable host: ICMP error back through the tunnel"
out=$(in_ns st-priv ping -n -c 2 -W 2 198.18.200.1 2>&1 || true)
assert_match "From 198.18.200.1 icmp_seq=1 Packet filtered" "$out" \
    "destination refused by the edge: ICMP administratively prohibited"
out=$(in_ns st-priv2 ping -n -t 2 -c 1 -W 2 "$P1" 2>&1 || true)
assert_match "From 100.64.0.2 icmp_seq=1 Time to live exceeded" "$out" \
    "TTL running out at the tunnel: time exceeded from the reach gateway"
# dig says "timed out" when nothing comes back: these texts need the relayed ICMP error
out=$(in_ns st-priv dig +tries=1 +time=5 @198.18.200.1 x.test 2>&1 || true)
assert_match "host unreachable" "$out" "dig to a refused destination: ICMP error relayed"
out=$(in_ns st-priv2 dig +tries=1 +time=5 @"$P1" host.corp.test 2>&1 || true)
assert_match "connection refused" "$out" "dig to a host without a resolver: port unreachable relayed"

# --- 10k UDP flows created and expired
GL=$LAB_DIR/logs/gateway.log
udp_idle() { [[ $(gw_stat "$GL" udp_live) == 0 ]]; }
wait_for 30 "earlier UDP flows expired" udp_idle
base=$(gw_stat "$GL" rss_kb)
opened=$(gw_stat "$GL" udp_opened)
r=$(in_ns st-priv2 python3 "$HERE/udpecho.py" --client "$P1:7" --size 64 --count 10000 \
    --flows 10000 --timeout 5) || fail "10k flows: $r"
assert_match "^ok 10000/10000 size 64 flows 10000" "$r" "10000 UDP flows, each answered"
assert_eq $((opened + 10000)) "$(gw_stat "$GL" udp_opened)" "udp_opened: one flow per 5-tuple"
live=$(gw_stat "$GL" udp_live)
peak=$(gw_stat "$GL" rss_kb)
pass "10k flows: $live still live at the gateway, rss $base -> $peak kB"
wait_for 40 "10k UDP flows expired" udp_idle
after=$(gw_stat "$GL" rss_kb)
pass "10k flows expired: udp_live 0, $(gw_stat "$GL" dgram_expired) expired, rss $base -> $peak -> $after kB"
if [[ $BUILD_DIR == *asan* ]]; then
    log "memory return check skipped under ASan (its quarantine keeps freed memory)"
else
    ((after < base + 8192)) || fail "rss did not come back: $base -> $after kB"
fi
pass "UDP, DNS and ICMP through the tunnel"
