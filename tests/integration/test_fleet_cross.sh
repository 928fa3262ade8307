#!/usr/bin/env bash
# UDP, ICMP, ssh and site-to-site traffic across the edges of a fleet (issue 22): lab.sh up
# --edges 3 --sites 2, where site 1's gateway dials edges 1 and 2 and site 2's gateway edge 3
# only, so every flow below crosses a relay connection between edges.
#   a. site to site both ways by plain IP: a file (sha256), UDP (dig against site 1's
#      resolver from site 2, udpecho both ways) and ping, ICMP errors (host and port
#      unreachable) back across the edges; the edges log the relay connections both ways
#   b. st-client through edge 3 (no connection of site 1): connect-udp (DNS over h2c, echo
#      over TLS h2, echo over the HTTP/1.1 upgrade), connect-ip ping, ssh through CONNECT
#   c. policy on relayed UDP flows: dev may reach only UDP 198.51.100.53:53: through edge 3
#      its DNS works, another UDP destination gets 403 at edge 3; with edge 3's own file
#      allowing dev everything, the holder still answers 403 (its own policy); the same for
#      site 2's may-reach widened in edge 3's file only: the holder refuses the flow
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl dig ping python3 socat ssh sshd ssh-keygen sha256sum redis-server
lab_up --edges 3 --sites 2

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P1=198.51.100.10 # site 1 host
P2=203.0.113.10  # site 2 host
DNS=198.51.100.53
E3=198.18.0.3 # edge 3's access listener
dir=$LAB_DIR/t-cross
rm -rf "$dir"
mkdir -p "$dir/srv"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
wait_for 20 "every edge's cache to hold the other edges' tunnels" \
    all_edges_metric subtunnel_registry_cache_entries 2

random_file "$dir/srv/file.bin" 4096
want=$(sha256_file "$dir/srv/file.bin")
start_httpd cross-httpd1 "$P1:8093" "$dir/srv" st-priv
start_httpd cross-httpd2 "$P2:8093" "$dir/srv" st-priv2
start_bg cross-echo1 st-priv python3 "$HERE/udpecho.py" --listen "$P1:7"
start_bg cross-echo2 st-priv2 python3 "$HERE/udpecho.py" --listen "$P2:7"
wait_for 10 "udp echo servers" bash -c "grep -q ready '$LAB_DIR/logs/cross-echo1.log' &&
    grep -q ready '$LAB_DIR/logs/cross-echo2.log'"

# ---- a. site to site across edges
for pair in "st-priv $P2" "st-priv2 $P1"; do
    read -r ns peer <<<"$pair"
    in_ns "$ns" curl -sS -m 30 -o "$dir/$ns.bin" "http://$peer:8093/file.bin" ||
        fail "$ns: download from $peer failed"
    assert_eq "$want" "$(sha256_file "$dir/$ns.bin")" "$ns <- $peer: 4 MiB download (sha256)"
    r=$(in_ns "$ns" curl -sS -m 30 -T "$dir/srv/file.bin" "http://$peer:8093/up") ||
        fail "$ns: upload to $peer failed"
    assert_eq "$want $((4096 * 1024))" "$r" "$ns -> $peer: 4 MiB upload (sha256 at the server)"
    out=$(in_ns "$ns" ping -n -c 5 -i 0.2 -W 2 "$peer") || fail "$ns: ping $peer: $out"
    assert_match " 0% packet loss" "$out" "$ns: ping -c 5 $peer across edges"
    r=$(in_ns "$ns" python3 "$HERE/udpecho.py" --client "$peer:7" --size 1400 --count 200 \
        --flows 4 --timeout 3) || fail "$ns -> $peer: UDP echo: $r"
    assert_match "^ok 200/200 size 1400 flows 4" "$r" "$ns -> $peer: 200 x 1400 B UDP intact"
done
r=$(in_ns st-priv2 dig +short +time=2 +tries=2 @$DNS host.corp.test) || fail "dig failed"
assert_eq "$P1" "$r" "site 2 -> site 1: dig @$DNS host.corp.test"
for ((i = 0; i < 300; i++)); do echo "@$DNS host.corp.test A +time=3 +tries=2"; done >"$dir/batch"
in_ns st-priv2 dig -f "$dir/batch" >"$dir/batch.out" 2>&1 || true
ok=$(grep -c 'status: NOERROR' "$dir/batch.out" || true)
assert_eq 300 "$ok" "site 2 -> site 1: 300 dig queries (one stream each) all answered"
# ICMP errors come back across the edges too
out=$(in_ns st-priv ping -n -c 2 -W 6 203.0.113.99 2>&1 || true)
assert_match "From .* icmp_seq=1 Destination Host Unreachable" "$out" \
    "site 1 -> an absent host of site 2: host unreachable comes back"
out=$(in_ns st-priv2 dig +tries=1 +time=5 @"$P1" host.corp.test 2>&1 || true)
assert_match "connection refused" "$out" "site 2 -> a UDP port of site 1 nobody serves: port unreachable"
# site 1's flows enter at edge 1 or 2 and go to edge 3; site 2's enter at edge 3
assert_match 'relay 192\.0\.2\.[12]:[0-9]+: edge lab-edge-[12] connected' "$(cat "$EDGE_LOG_3")" \
    "edge 3 holds a relay connection from edge 1 or 2 (site 1 -> site 2)"
assert_match 'relay 192\.0\.2\.3:[0-9]+: edge lab-edge-3 connected' \
    "$(cat "$EDGE_LOG" "$EDGE_LOG_2")" "edge 1 or 2 holds edge 3's relay connection"

# ---- b. st-client through edge 3
# masque ARGS...: masque.py on st-client through edge 3
masque() { in_ns st-client python3 "$HERE/masque.py" "$@"; }
r=$(masque --proxy "$E3:8080" --h2c --token "$ACCESS_TOKEN" --target "$DNS:53" \
    --dns host.corp.test --count 50) || fail "connect-udp DNS through edge 3: $r"
assert_match "host.corp.test A $P1" "$r" "connect-udp through edge 3: DNS answer"
assert_match "answered 50/50" "$r" "connect-udp through edge 3: 50 queries answered"
r=$(masque --proxy "$E3:8443" --ca "$CA_FILE" --servername edge.lab.test \
    --token "$ACCESS_TOKEN" --target "$P1:7" --echo 1400 --count 200) ||
    fail "connect-udp echo over TLS through edge 3: $r"
assert_match "echoed 200/200 size 1400 sha256 ok" "$r" "connect-udp over TLS h2 via edge 3"
r=$(masque --proxy "$E3:8080" --h2c --h1 --token "$ACCESS_TOKEN" --target "$P1:7" \
    --echo 1400 --count 100) || fail "connect-udp over HTTP/1.1 through edge 3: $r"
assert_match "echoed 100/100 size 1400 sha256 ok" "$r" "connect-udp HTTP/1.1 upgrade via edge 3"
r=$(masque --proxy "$E3:8080" --h2c --token "$ACCESS_TOKEN" --ping --target "$P1" \
    --count 10) || fail "connect-ip ping through edge 3: $r"
assert_match "^pinged 10/10 " "$r" "connect-ip: 10 ICMP echo replies from $P1 via edge 3"
start_sshd cross-sshd st-priv "$P1" "$dir/ssh"
# shellcheck disable=SC2016 # the remote shell expands $SSH_CONNECTION
r=$(in_ns st-client timeout 60 ssh "${SSH_OPTS[@]}" -i "$dir/ssh/user_key" \
    -o "ProxyCommand=socat - PROXY:$E3:%h:%p,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" \
    "root@$P1" 'echo $SSH_CONNECTION' 2>"$dir/ssh.err") ||
    fail "ssh through edge 3 failed: $(cat "$dir/ssh.err")"
assert_match " $P1 22$" "$r" "ssh to site 1 through edge 3's CONNECT proxy"
assert_match 'relay: connecting to edge lab-edge-[12]' "$(cat "$EDGE_LOG_3")" \
    "edge 3 logs its relay connection to a holder of site 1"

# ---- c. policy on relayed UDP flows (dev: UDP 198.51.100.53:53 only)
r=$(masque --proxy "$E3:8080" --h2c --token "$DEV_TOKEN" --target "$DNS:53" \
    --dns host.corp.test --count 5) || fail "dev's allowed DNS through edge 3: $r"
assert_match "answered 5/5" "$r" "dev: UDP $DNS:53 through edge 3"
# dev_denied WHAT ARGS...: masque.py as dev is refused with 403
dev_denied() {
    local what=$1 rc=0
    shift
    r=$(masque --proxy "$E3:8080" --h2c --token "$DEV_TOKEN" "$@" 2>&1) || rc=$?
    assert_eq 2 "$rc" "$what: refused"
    assert_match "answered 403" "$r" "$what: 403"
}
dev_denied "dev: UDP $P1:7 at edge 3" --target "$P1:7" --echo 100
dev_denied "dev: UDP $DNS:5353 at edge 3" --target "$DNS:5353" --echo 100
dev_denied "dev: connect-ip ping $P1 at edge 3" --ping --target "$P1"
# Edge 3's own file lets developers reach everything, and site 2 all of site 1: the holders'
# files do not, and they refuse all the same.
cp "$EDGE_CONFIG_3" "$dir/edge3.yaml.good"
restore3() { cp "$dir/edge3.yaml.good" "$EDGE_CONFIG_3" && kill -HUP "$(cat "$LAB_DIR/run/edge3.pid")"; }
on_cleanup restore3
awk '{print} /^access-policy:/{print "  - {action: allow, groups: [developers]}"}' \
    "$dir/edge3.yaml.good" |
    sed 's|may-reach: \[198.51.100.10/32, 198.51.100.53/32[^]]*\]|may-reach: [198.51.100.0/24]|' \
        >"$EDGE_CONFIG_3"
grep -q 'may-reach: \[198.51.100.0/24\]' "$EDGE_CONFIG_3" || fail "site2's may-reach not widened"
hup_reload "$(cat "$LAB_DIR/run/edge3.pid")" "$EDGE_LOG_3"
in_ns st-bastion2 ip route replace 198.51.100.11/32 dev st0
rc=0
in_ns st-priv2 curl -sS -m 10 -o /dev/null "http://198.51.100.11:8001/" 2>"$dir/err" || rc=$?
((rc != 0 && rc != 28)) || fail "site 2 -> 198.51.100.11 allowed at edge 3: curl exit $rc, want a reset"
refused() { grep -q "refused: tunnel site2 may not reach it" "$EDGE_LOG" "$EDGE_LOG_2"; }
wait_for 5 "a holder to log its refusal" refused
assert_match "flow $P2:[0-9]+ -> 198\.51\.100\.11:8001: refused: tunnel site2 may not reach it" \
    "$(cat "$EDGE_LOG" "$EDGE_LOG_2")" "the holder checks site 2's may-reach again (curl $rc)"
out=$(in_ns st-priv2 dig +tries=1 +time=5 @198.51.100.11 x.test 2>&1 || true)
assert_match "host unreachable" "$out" "site 2 -> UDP 198.51.100.11:53: the holder's refusal comes back as ICMP"
assert_match "flow $P2:[0-9]+ -> 198\.51\.100\.11:53: refused: tunnel site2 may not reach it" \
    "$(cat "$EDGE_LOG" "$EDGE_LOG_2")" "the holder refused site 2's relayed UDP flow"
dev_denied "dev: UDP $P1:7 allowed at edge 3, checked at the holder" --target "$P1:7" --echo 100
# audited LOGS REGEX: a record in the audit logs LOGS matches REGEX
audited() { cat "${@:1:$#-1}" 2>/dev/null | grep -Eq -- "${!#}"; }
dest='"dest":"198\.51\.100\.10:7"'
wait_for 10 "edge 3 to audit dev's UDP flow as allowed (and relay it)" audited \
    "$LAB_DIR/logs/audit3.log" "\"location\":\"lab-edge-3\",\"user\":\"dev\".*$dest.*\"verdict\":\"allow\""
wait_for 10 "the holder to audit dev's relayed UDP flow as denied" audited \
    "$LAB_DIR/logs/audit.log" "$LAB_DIR/logs/audit2.log" "\"user\":\"dev\".*$dest.*\"verdict\":\"deny\""
pass "edge 3 allowed dev's UDP flow, the holder denied it"
r=$(masque --proxy "$E3:8080" --h2c --token "$DEV_TOKEN" --target "$DNS:53" \
    --dns host.corp.test --count 5) || fail "dev's allowed DNS through edge 3 after the reload: $r"
assert_match "answered 5/5" "$r" "dev: UDP $DNS:53 still through edge 3"

# ---- d. a holder's relay port, as edge 3 speaks to it (fleet certificate of lab-edge-3):
# every relayed field must check out, whatever else the request carries
# relayed EXPECT WHAT FIELD...: connect-udp DNS on edge 1's relay port with these fields
relayed() {
    local want=$1 what=$2 rc=0 args=()
    shift 2
    for f in "$@"; do args+=(--header "$f"); done
    r=$(in_ns st-edge3 python3 "$HERE/masque.py" --proxy 192.0.2.1:7845 --ca "$FLEET_CA" \
        --servername lab-edge-1 --cert "$LAB_DIR/certs/fleet/lab-edge-3.crt" \
        --key "$LAB_DIR/certs/fleet/lab-edge-3.key" --token "" --target "$DNS:53" \
        --dns host.corp.test --count 2 "${args[@]}" 2>&1) || rc=$?
    if [[ $want == ok ]]; then
        ((rc == 0)) || fail "$what: exit $rc: $r"
        assert_match "answered 2/2" "$r" "$what"
    else
        assert_eq 2 "$rc" "$what: refused"
        assert_match "answered $want" "$r" "$what: $want"
    fi
}
site2=("subtunnel-relay-tunnel: site2" "subtunnel-client: $P2:5353")
relayed ok "relayed site-2 connect-udp to $DNS:53 at edge 1" "${site2[@]}"
relayed 407 "a bad relayed identity before the site's tunnel" \
    "subtunnel-identity: nobody token 00 0 0 0 -" "${site2[@]}"
relayed 407 "a bad relayed identity after the site's tunnel" \
    "${site2[@]}" "subtunnel-identity: nobody token 00 0 0 0 -"
relayed 407 "an unknown relayed tunnel before a good one" \
    "subtunnel-relay-tunnel: nosuch" "${site2[@]}"
relayed 407 "a relayed tunnel id of 64 characters" \
    "subtunnel-relay-tunnel: site2$(printf 'x%.0s' {1..59})" "subtunnel-client: $P2:5353"
relayed 403 "a relayed site flow from outside the site's routes" \
    "subtunnel-relay-tunnel: site2" "subtunnel-client: 198.18.0.99:5353"
relayed 407 "a relayed request with neither identity nor tunnel" "subtunnel-client: $P2:5353"
